import CanonicalEvents

/// A delivery in the recipient's format: its body, media type and file extension. The routing
/// attributes (decision, rule, legal basis, purpose, disclosure, matrix version) travel beside the
/// body, as CloudEvents attributes (HTTP `ce-` headers, or a sidecar file), so that every format can
/// carry them without changing.
public struct RenderedDelivery: Sendable {
    public var body: String
    public var contentType: String
    public var fileExtension: String
}

extension PartnerTranslator {
    /// The delivery as the partner's native message: with its kind's table where the partner's format
    /// has one for the event's type, otherwise in the format's generic form for facts it has no
    /// table for: the event's data as elements (XML), as members (JSON) or as `veld;waarde` lines of
    /// JSON Pointers and values (CSV).
    public func renderDelivery(_ event: CloudEvent) throws(AdapterRefusal) -> RenderedDelivery {
        let (contentType, fileExtension) = switch format.syntax {
        case .xml: ("application/xml", "xml")
        case .json: ("application/json", "json")
        case .csv: ("text/csv", "csv")
        }
        if format.mapping(forEvent: Self.eventName(of: event)) != nil {
            return RenderedDelivery(body: try render([event]), contentType: contentType, fileExtension: fileExtension)
        }
        let body: String
        switch format.syntax {
        case .xml:
            var root = NativeNode(name: "Ketenbericht")
            root.setAttribute("type", Self.eventName(of: event))
            root.setAttribute("id", event.id)
            root.children.append(Self.node(named: "Gegevens", from: event.data))
            body = XMLSyntax.render(root)
        case .json:
            body = String(decoding: JSONValue.object(["type": .string(Self.eventName(of: event)), "id": .string(event.id), "gegevens": event.data])
                .encoded(pretty: true), as: UTF8.self) + "\n"
        case .csv:
            var root = NativeNode(name: "batch")
            for (pointer, value) in Self.leaves(of: event.data, at: "") {
                root.children.append(NativeNode(name: "row", children: [NativeNode(name: "veld", text: pointer), NativeNode(name: "waarde", text: value)]))
            }
            body = CSVSyntax.render(root, delimiter: Character(format.delimiter ?? ";"), columns: ["veld", "waarde"])
        }
        return RenderedDelivery(body: body, contentType: contentType, fileExtension: fileExtension)
    }

    public static func eventName(of event: CloudEvent) -> String {
        event.type.split(separator: ".").dropFirst(2).first.map(String.init) ?? event.type
    }

    private static func node(named name: String, from value: JSONValue) -> NativeNode {
        var node = NativeNode(name: name)
        switch value {
        case .object(let members):
            for key in members.keys.sorted() {
                if case .array(let items) = members[key]! {
                    node.children += items.map { Self.node(named: key, from: $0) }
                } else {
                    node.children.append(Self.node(named: key, from: members[key]!))
                }
            }
        case .array(let items): node.children = items.map { Self.node(named: "item", from: $0) }
        case .null: break
        default: node.text = value.rendered
        }
        return node
    }

    private static func leaves(of value: JSONValue, at pointer: String) -> [(String, String)] {
        switch value {
        case .object(let members): members.keys.sorted().flatMap { leaves(of: members[$0]!, at: pointer + "/" + $0) }
        case .array(let items): items.enumerated().flatMap { leaves(of: $1, at: "\(pointer)/\($0)") }
        case .null: []
        default: [(pointer, value.rendered)]
        }
    }
}
