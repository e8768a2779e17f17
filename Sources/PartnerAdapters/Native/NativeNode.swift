/// A partner message after parsing, whatever its syntax: XML elements, JSON members and CSV rows
/// all become named nodes with text and children. Mappings read and write this tree by path, so that
/// one mapping engine serves every syntax.
public struct NativeNode: Sendable, Hashable {
    /// What a leaf's text is in a syntax that has types (JSON); XML and CSV write every value as text.
    public enum ValueKind: Sendable, Hashable { case text, number, boolean }

    public var name: String
    public var attributes: [(name: String, value: String)] {
        get { attributeList.map { ($0.name, $0.value) } }
        set { attributeList = newValue.map { Attribute(name: $0.name, value: $0.value) } }
    }
    public var text: String?
    public var children: [NativeNode]
    /// Where the node is in the message, for problems: an XPath-like path with its line, a JSON
    /// Pointer, or a CSV row and column.
    public var location: String
    /// For rendering JSON: this node is one item of an array, even when it is the only one.
    public var isListItem = false
    public var valueKind = ValueKind.text

    private var attributeList: [Attribute] = []
    private struct Attribute: Sendable, Hashable { var name: String; var value: String }

    public init(name: String, text: String? = nil, children: [NativeNode] = [], location: String = "") {
        self.name = name
        self.text = text
        self.children = children
        self.location = location
    }

    public func attribute(_ name: String) -> String? { attributeList.first { $0.name == name }?.value }

    public mutating func setAttribute(_ name: String, _ value: String) {
        if let index = attributeList.firstIndex(where: { $0.name == name }) { attributeList[index].value = value } else {
            attributeList.append(Attribute(name: name, value: value))
        }
    }

    /// Sets attributes whose names are distinct (a parser's), in name order: without the search
    /// `setAttribute` makes for each, which made an element of 60,000 attributes (a 650 KB
    /// message) cost three seconds.
    mutating func setDistinctAttributes(_ attributes: [String: String]) {
        attributeList = attributes.sorted { $0.key < $1.key }.map { Attribute(name: $0.key, value: $0.value) }
    }

    /// The nodes at a path of child names, relative to this node: `Betrokkenen/Betrokkene`.
    public func nodes(at path: NativePath) -> [NativeNode] {
        var current = [self]
        for step in path.elements {
            current = current.flatMap { node in node.children.filter { $0.name == step } }
        }
        return current
    }

    /// The values at a path: the text of the nodes it names, or the attribute its last step names
    /// (`@soort`). Each with its location.
    public func values(at path: NativePath) -> [(value: String, location: String)] {
        let holders = nodes(at: NativePath(elements: path.elements))
        if let attribute = path.attribute {
            return holders.compactMap { node in node.attribute(attribute).map { ($0, node.location + "/@" + attribute) } }
        }
        return holders.compactMap { node in node.text.map { ($0, node.location) } }
    }

    /// Sets a value at a path, creating the nodes on the way (the last of each name, or a new one).
    public mutating func set(_ value: String, at path: NativePath, kind: ValueKind = .text, listItem: Bool = false) {
        guard let first = path.elements.first else {
            if let attribute = path.attribute { setAttribute(attribute, value) } else { text = value; valueKind = kind }
            return
        }
        let rest = NativePath(elements: Array(path.elements.dropFirst()), attribute: path.attribute)
        if path.elements.count == 1 && listItem {
            // Each value of a list is a node of its own, its text or its attribute.
            var item = NativeNode(name: first)
            item.isListItem = true
            if let attribute = path.attribute { item.setAttribute(attribute, value) } else { item.text = value; item.valueKind = kind }
            children.append(item)
            return
        }
        if let index = children.lastIndex(where: { $0.name == first }) {
            children[index].set(value, at: rest, kind: kind, listItem: listItem)
        } else {
            var child = NativeNode(name: first)
            child.set(value, at: rest, kind: kind, listItem: listItem)
            children.append(child)
        }
    }

    /// Appends `node` at a path of container names, creating the containers on the way.
    public mutating func append(_ node: NativeNode, under path: [String]) {
        guard let first = path.first else { return children.append(node) }
        if let index = children.lastIndex(where: { $0.name == first }) {
            children[index].append(node, under: Array(path.dropFirst()))
        } else {
            var child = NativeNode(name: first)
            child.append(node, under: Array(path.dropFirst()))
            children.append(child)
        }
    }

    public static func == (lhs: NativeNode, rhs: NativeNode) -> Bool {
        // Attribute order carries no meaning in XML.
        lhs.name == rhs.name && lhs.text == rhs.text && lhs.children == rhs.children
            && lhs.attributeList.sorted { $0.name < $1.name } == rhs.attributeList.sorted { $0.name < $1.name }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(text)
        hasher.combine(children)
    }
}

/// A path into a native message: child names separated by `/`, optionally ending in `@attribute`.
public struct NativePath: Sendable, Hashable, CustomStringConvertible {
    public var elements: [String]
    public var attribute: String?

    public init(elements: [String], attribute: String? = nil) {
        self.elements = elements
        self.attribute = attribute
    }

    public init(_ text: String) {
        var parts = text.split(separator: "/").map(String.init)
        if let last = parts.last, last.hasPrefix("@") {
            attribute = String(last.dropFirst())
            parts.removeLast()
        }
        elements = parts
    }

    public var description: String { (elements + (attribute.map { ["@" + $0] } ?? [])).joined(separator: "/") }
}
