import CanonicalEvents

/// Reads one native record into a canonical event with its kind's mapping, remembering where each
/// canonical value came from so that a problem found later (by the schema) points into the native record.
struct RecordReader {
    let format: PartnerFormat
    let record: NativeNode
    private(set) var problems: [AdapterProblem] = []
    /// Canonical pointer (of the whole event) to the native location it was read from.
    private var provenance: [String: String] = [:]
    private var mapping: PartnerFormat.KindMapping?
    /// Canonical pointers whose native value did not convert (and is null in the event).
    private var unconverted: Set<String> = []

    /// The chain case of each reference the gateway resolved, for records that carry no chain case id.
    let cases: [String: String]
    /// Reading a delivery the hub wrote: the kinds the partner only receives are known too.
    let delivery: Bool

    init(format: PartnerFormat, record: NativeNode, cases: [String: String] = [:], delivery: Bool = false) {
        self.format = format
        self.record = record
        self.cases = cases
        self.delivery = delivery
    }

    mutating func event(source: String) -> CloudEvent? {
        let layout = format.message
        guard let kind = single(layout.kind, in: record, required: true) else { return nil }
        guard let mapping = format.mapping(forKind: kind.value, delivery: delivery) else {
            let reason = format.mapping(forKind: kind.value, delivery: true) != nil
                ? "the record is of a kind \(format.partner) receives from the hub, not one it sends (it sends: \(format.kinds.map(\.kind).joined(separator: ", ")))"
                : "the record is of a kind the \(format.partner) format does not know (known: \(format.kinds.map(\.kind).joined(separator: ", ")))"
            problems.append(AdapterProblem(location: kind.location, reason: reason))
            return nil
        }
        self.mapping = mapping
        let id = single(layout.recordId, in: record, required: true)
        let reference = mapping.reference.flatMap { single($0, in: record, required: false) }
        // Without a chain case id, the reference stands for it once the gateway resolved it.
        var caseId = single(mapping.caseId, in: record, required: reference == nil)
        if caseId == nil, let reference {
            if let resolved = cases[reference.value] {
                caseId = (resolved, reference.location)
            } else if !CaseClaim.isWellFormed(reference.value) {
                problems.append(AdapterProblem(location: reference.location, reason: "the record carries no chain case id (\(mapping.caseId)), and its " +
                                               "reference (\(mapping.reference ?? "")) is not one: letters, digits, spaces and . _ : / -, at most 128"))
            } else if problems.isEmpty {
                problems.append(AdapterProblem(location: reference.location, reason: "the record carries no chain case id (\(mapping.caseId)), and its " +
                                               "reference (\(mapping.reference ?? "")) is resolved to one only when the hub takes the message in"))
            }
        }
        let time = single(mapping.time, in: record, required: true)
        let data = object(mapping.fields, in: record, at: "/data")
        // With its envelope the event is built even when values did not convert, so that the schema
        // finds what else is wrong; the values that did not convert are reported once, above.
        guard let id, let caseId, let time else { return nil }
        provenance["/id"] = id.location
        provenance["/ketencaseid"] = caseId.location
        provenance["/time"] = time.location
        if let reference { provenance["/partnerref"] = reference.location }
        return CloudEvent(id: id.value, source: source, type: "nl.ketenhub.\(mapping.event).v1", time: time.value,
                          ketencaseid: caseId.value, data: data, partnerref: reference?.value)
    }

    /// The schema problems of the event not already reported (as a value that did not convert), placed in the native record.
    func locate(_ schemaProblems: [ValidationProblem]) -> [AdapterProblem] {
        schemaProblems.filter { !unconverted.contains($0.pointer.description) }.map(locate)
    }

    private func locate(_ problem: ValidationProblem) -> AdapterProblem {
        let pointer = problem.pointer.description
        var prefix = pointer
        while !prefix.isEmpty {
            if let location = provenance[prefix] { return AdapterProblem(location: location, reason: "\(problem.reason) (canonical \(pointer))") }
            prefix = String(prefix[..<(prefix.lastIndex(of: "/") ?? prefix.startIndex)])
        }
        // Nothing was read for it: name the native path it would have come from.
        let expected = mapping.flatMap { Self.nativePath(of: pointer, in: $0.fields, base: "/data") }
        return AdapterProblem(location: record.location + (expected.map { "/" + $0 } ?? ""), reason: "\(problem.reason) (canonical \(pointer))")
    }

    private static func nativePath(of pointer: String, in fields: [FieldMapping], base: String) -> String? {
        for field in fields {
            let target = base + field.to
            if target == pointer { return field.from ?? field.each ?? field.within }
            if pointer.hasPrefix(target + "/"), let sub = field.fields {
                let container = field.each ?? field.within
                let inner = field.each != nil ? target + "/" + (pointer.dropFirst(target.count + 1).split(separator: "/").first.map(String.init) ?? "0") : target
                if let path = nativePath(of: pointer, in: sub, base: inner) { return [container, path].compactMap { $0 }.joined(separator: "/") }
            }
        }
        return nil
    }

    // MARK: - Values

    private mutating func single(_ path: String, in node: NativeNode, required: Bool) -> (value: String, location: String)? {
        let found = node.values(at: NativePath(path))
        if found.count > 1 {
            problems.append(AdapterProblem(location: found[1].location, reason: "\(path) appears \(found.count) times; it may appear once"))
            return nil
        }
        if found.isEmpty, required {
            problems.append(AdapterProblem(location: node.location, reason: "\(path) is missing"))
        }
        return found.first
    }

    private mutating func object(_ fields: [FieldMapping], in node: NativeNode, at pointer: String) -> JSONValue {
        var members: [String: JSONValue] = [:]
        for field in fields {
            let key = String(field.to.dropFirst())
            let target = pointer + field.to
            if let constant = field.constant {
                members[key] = constant.stringValue.map { convert($0, field, location: node.location, at: target) } ?? constant
            } else if let each = field.each {
                let items = node.nodes(at: NativePath(each)).enumerated().map { index, item in
                    provenance["\(target)/\(index)"] = item.location
                    return object(field.fields ?? [], in: item, at: "\(target)/\(index)")
                }
                if !items.isEmpty { members[key] = .array(items) }
            } else if let fields = field.fields {
                let holder = field.within.map { node.nodes(at: NativePath($0)) } ?? [node]
                if holder.count > 1 {
                    problems.append(AdapterProblem(location: holder[1].location, reason: "\(field.within ?? "") appears \(holder.count) times; it may appear once"))
                } else if let item = holder.first {
                    let value = object(fields, in: item, at: target)
                    if value != .object([:]) { members[key] = value; provenance[target] = item.location }
                }
            } else if let from = field.from {
                if field.many == true {
                    let found = node.values(at: NativePath(from))
                    if !found.isEmpty {
                        members[key] = .array(found.enumerated().map { index, entry in
                            provenance["\(target)/\(index)"] = entry.location
                            return convert(entry.value, field, location: entry.location, at: "\(target)/\(index)")
                        })
                    }
                } else if let entry = single(from, in: node, required: false) {
                    provenance[target] = entry.location
                    members[key] = convert(entry.value, field, location: entry.location, at: target)
                }
            }
        }
        return .object(members)
    }

    /// The canonical value of a native value; a value that does not convert is a problem (and null).
    private mutating func convert(_ raw: String, _ field: FieldMapping, location: String, at pointer: String) -> JSONValue {
        let value = convertedValue(raw, field, location: location)
        if value == .null { unconverted.insert(pointer) }
        return value
    }

    private mutating func convertedValue(_ raw: String, _ field: FieldMapping, location: String) -> JSONValue {
        var text = raw
        if let codes = field.values {
            guard let canonical = codes[raw] else {
                problems.append(AdapterProblem(location: location, reason: "the value is not one of the codes \(codes.keys.sorted().joined(separator: ", "))"))
                return .null
            }
            text = canonical
        }
        switch field.type ?? .string {
        case .string, .datetime, .date:
            return .string(text)
        case .integer:
            guard let number = Int(text) else {
                problems.append(AdapterProblem(location: location, reason: "the value is not a whole number"))
                return .null
            }
            return .number(Double(number))
        case .boolean:
            let words = format.booleans
            if text == "true" || text == words?.true { return .bool(true) }
            if text == "false" || text == words?.false { return .bool(false) }
            problems.append(AdapterProblem(location: location, reason: "the value is not \(words.map { "\($0.true) or \($0.false)" } ?? "true or false")"))
            return .null
        case .dateNL:
            let parts = text.split(separator: "-")
            guard parts.count == 3, parts[0].count == 2, parts[1].count == 2, parts[2].count == 4, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) else {
                problems.append(AdapterProblem(location: location, reason: "the value is not a date written dd-mm-jjjj"))
                return .null
            }
            return .string("\(parts[2])-\(parts[1])-\(parts[0])")
        }
    }
}
