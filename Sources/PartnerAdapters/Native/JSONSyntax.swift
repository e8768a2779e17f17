import CanonicalEvents
import Foundation

/// JSON in and out, for the partners whose back-offices post JSON. Members become child nodes; an
/// array's items become children of the same name; scalars become text with their JSON type.
enum JSONSyntax {
    static func parse(_ text: String, root name: String) throws -> NativeNode {
        let value: JSONValue
        do {
            value = try JSONValue.parse(Data(text.utf8))
        } catch {
            throw AdapterRefusal("the JSON is not well-formed (\(error)); a truncated message ends like this")
        }
        guard case .object = value else { throw AdapterRefusal(location: "/", "expected a JSON object") }
        return node(named: name, from: value, at: "")
    }

    private static func node(named name: String, from value: JSONValue, at pointer: String) -> NativeNode {
        var node = NativeNode(name: name, location: pointer.isEmpty ? "/" : pointer)
        switch value {
        case .object(let members):
            for key in members.keys.sorted() {
                let path = pointer + "/" + key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
                if case .array(let items) = members[key]! {
                    for (index, item) in items.enumerated() {
                        var child = self.node(named: key, from: item, at: "\(path)/\(index)")
                        child.isListItem = true
                        node.children.append(child)
                    }
                } else {
                    node.children.append(self.node(named: key, from: members[key]!, at: path))
                }
            }
        case .string(let text): node.text = text
        case .number: node.text = value.rendered; node.valueKind = .number
        case .bool(let flag): node.text = flag ? "true" : "false"; node.valueKind = .boolean
        case .null, .array: break
        }
        return node
    }

    static func render(_ root: NativeNode) -> String {
        String(decoding: value(of: root).encoded(pretty: true), as: UTF8.self) + "\n"
    }

    private static func value(of node: NativeNode) -> JSONValue {
        guard !node.children.isEmpty else {
            guard let text = node.text else { return .object([:]) }
            switch node.valueKind {
            case .text: return .string(text)
            case .number: return Double(text).map(JSONValue.number) ?? .string(text)
            case .boolean: return .bool(text == "true")
            }
        }
        var members: [String: JSONValue] = [:]
        for name in Set(node.children.map(\.name)) {
            let named = node.children.filter { $0.name == name }
            members[name] = named.contains(where: \.isListItem) ? .array(named.map(value)) : value(of: named[named.count - 1])
        }
        return .object(members)
    }
}
