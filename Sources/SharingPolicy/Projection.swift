import CanonicalEvents

/// Cuts an event down to what one decision allows: the envelope attributes every delivery carries,
/// the fields the rule lists, and the routing extensions. Nothing else leaves the hub.
public enum Projection {
    /// Envelope attributes that always travel: without them a delivery cannot be identified or deduplicated.
    public static let envelope: Set<String> = ["specversion", "id", "source", "type", "time", "datacontenttype", "ketencaseid"]

    public static func delivery(of event: CloudEvent, for decision: Decision) -> CloudEvent {
        let allowed = Trie(decision.fields)
        return delivery(of: event, for: decision, allowed: allowed, data: data(of: event, allowed: allowed))
    }

    /// The event's data as far as these fields (made into a tree: the evaluator keeps one per rule)
    /// disclose it: a function of the event and the fields alone.
    static func data(of event: CloudEvent, allowed: Trie) -> JSONValue {
        allowed.children["data"].flatMap { project(event.data, $0) } ?? .object([:])
    }

    /// The delivery, with its data already projected (`data(of:allowed:)`) under the same fields.
    static func delivery(of event: CloudEvent, for decision: Decision, allowed: Trie, data: JSONValue) -> CloudEvent {
        precondition(decision.outcome == .permit, "only a permit is delivered")
        var delivery = event
        // The envelope's optional attributes travel only when the rule lists them; `partnerref` is
        // the recipient's own reference, never the sender's.
        if allowed.children["subject"] == nil { delivery.subject = nil }
        delivery.partnerref = decision.recipientReference
        if allowed.children["dataschema"] == nil { delivery.dataschema = nil }
        delivery.data = data
        delivery.decisionid = decision.decisionId
        delivery.ruleid = decision.ruleId
        delivery.legalbasis = decision.legalBasis
        delivery.purpose = decision.purpose
        delivery.disclosure = decision.disclosure?.rawValue
        delivery.matrixversion = decision.matrixVersion
        return delivery
    }

    /// The allowed paths as a tree; a terminal node admits its whole subtree, or of an array only
    /// the elements its selection keeps (`FieldSelector`).
    struct Trie: Sendable {
        var terminal = false
        var selection: FieldSelector?
        var children: [String: Trie] = [:]

        init() {}

        init(_ fields: [String]) {
            for field in fields {
                let selector = FieldSelector(field)
                insert(JSONPointer(selector.pointer).tokens, selection: selector.isSelection ? selector : nil)
            }
        }

        mutating func insert(_ tokens: [String], selection: FieldSelector?) {
            guard let first = tokens.first else {
                // A field listed whole as well as selected is disclosed whole; two selections on one
                // member keep what either keeps.
                if !terminal {
                    self.selection = selection
                } else if var merged = self.selection, let selection, merged.member == selection.member {
                    merged.values.formUnion(selection.values)
                    self.selection = merged
                } else {
                    self.selection = nil
                }
                terminal = true
                return
            }
            children[first, default: Trie()].insert(Array(tokens.dropFirst()), selection: selection)
        }
    }

    /// The pseudonymous persons whose ids a delivery's data discloses, sorted.
    public static func persons(in value: JSONValue) -> [String] {
        var found: Set<String> = []
        func walk(_ value: JSONValue) {
            switch value {
            case .string(let text): if text.utf8.starts(with: "psn:".utf8) { found.insert(text) }  // bytes: no Unicode rules needed
            case .array(let items): items.forEach(walk)
            case .object(let members): members.values.forEach(walk)
            default: break
            }
        }
        walk(value)
        return found.sorted()
    }

    static func project(_ value: JSONValue, _ allowed: Trie) -> JSONValue? {
        if allowed.terminal {
            guard let selection = allowed.selection, let member = selection.member else { return value }
            // Only the selected elements, each whole; none selected: the field is not disclosed at all.
            let kept = (value.arrayValue ?? []).filter { selection.values.contains($0[member]?.stringValue ?? "") }
            return kept.isEmpty ? nil : .array(kept)
        }
        switch value {
        case .object(let members):
            var kept = [String: JSONValue](minimumCapacity: allowed.children.count)
            for (name, subtree) in allowed.children where name != "*" {
                if let member = members[name], let projected = project(member, subtree) { kept[name] = projected }
            }
            return kept.isEmpty ? nil : .object(kept)
        case .array(let items):
            guard let each = allowed.children["*"] else { return nil }
            return .array(items.map { project($0, each) ?? .object([:]) })
        default:
            return nil
        }
    }
}
