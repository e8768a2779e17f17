import CanonicalEvents

/// Writes one canonical event as a native record with its kind's mapping: the reader's table, read backwards.
struct RecordWriter {
    let format: PartnerFormat

    func record(for event: CloudEvent, mapping: PartnerFormat.KindMapping, named name: String) -> NativeNode {
        var record = NativeNode(name: name)
        record.isListItem = true  // a message holds a list of records, also when it holds one
        record.set(event.id, at: NativePath(format.message.recordId))
        record.set(mapping.kind, at: NativePath(format.message.kind))
        // A partner that knows only its own reference sends no chain case id (the hub resolves it).
        if !event.ketencaseid.isEmpty { record.set(event.ketencaseid, at: NativePath(mapping.caseId)) }
        record.set(event.time, at: NativePath(mapping.time))
        if let reference = mapping.reference, let value = event.partnerref { record.set(value, at: NativePath(reference)) }
        write(mapping.fields, from: event.data, into: &record)
        return record
    }

    private func write(_ fields: [FieldMapping], from data: JSONValue, into node: inout NativeNode) {
        for field in fields where field.constant == nil {
            guard let value = data[String(field.to.dropFirst())] else { continue }
            if let each = field.each {
                let path = NativePath(each).elements
                for item in value.arrayValue ?? [] {
                    var child = NativeNode(name: path.last ?? "item")
                    child.isListItem = true
                    write(field.fields ?? [], from: item, into: &child)
                    node.append(child, under: Array(path.dropLast()))
                }
            } else if let fields = field.fields {
                if let within = field.within {
                    let path = NativePath(within).elements
                    var child = NativeNode(name: path.last ?? "item")
                    write(fields, from: value, into: &child)
                    node.append(child, under: Array(path.dropLast()))
                } else {
                    write(fields, from: value, into: &node)
                }
            } else if let from = field.from {
                let items = field.many == true ? (value.arrayValue ?? []) : [value]
                for item in items {
                    let (text, kind) = native(item, field)
                    node.set(text, at: NativePath(from), kind: kind, listItem: field.many == true)
                }
            }
        }
    }

    /// The native text of a canonical value, and its JSON type.
    private func native(_ value: JSONValue, _ field: FieldMapping) -> (String, NativeNode.ValueKind) {
        var text = value.rendered
        var kind = NativeNode.ValueKind.text
        switch (field.type ?? .string, value) {
        case (.boolean, .bool(let flag)):
            if let words = format.booleans, format.syntax != .json { text = flag ? words.true : words.false } else { kind = .boolean }
        case (.integer, _):
            kind = .number
        case (.dateNL, .string(let date)):
            let parts = date.split(separator: "-")
            if parts.count == 3 { text = "\(parts[2])-\(parts[1])-\(parts[0])" }
        default:
            break
        }
        if let codes = field.values, let code = codes.filter({ $0.value == text }).map(\.key).sorted().first { text = code }
        return (text, kind)
    }
}
