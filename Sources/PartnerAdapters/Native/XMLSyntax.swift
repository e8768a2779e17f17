import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// XML in and out, for the partners whose back-offices speak it. Refuses what XML parsers are
/// attacked with: any document type declaration (external entities, entity expansion such as the
/// "billion laughs") is refused before parsing, and the parser resolves no external entity anyway.
enum XMLSyntax {
    static let maximumDepth = 32

    static func parse(_ text: String) throws -> NativeNode {
        if let range = text.range(of: "<!DOCTYPE", options: .caseInsensitive) ?? text.range(of: "<!ENTITY", options: .caseInsensitive) {
            let line = text[..<range.lowerBound].reduce(into: 1) { count, character in if character == "\n" { count += 1 } }
            throw AdapterRefusal(location: "line \(line)", "a document type declaration (DOCTYPE or ENTITY) is not accepted: it can declare external entities or entity expansion")
        }
        // The text was read as UTF-8; a declaration of another encoding would make the parser read
        // the bytes differently from every check made on the text.
        if text.hasPrefix("<?xml"), let end = text.range(of: "?>"),
           let encoding = text[..<end.lowerBound].range(of: #"encoding\s*=\s*["']([^"']*)["']"#, options: .regularExpression) {
            let declared = text[encoding].split(whereSeparator: { $0 == "\"" || $0 == "'" }).dropFirst().first.map(String.init) ?? ""
            if declared.lowercased() != "utf-8" {
                throw AdapterRefusal(location: "line 1", "the XML declares an encoding other than UTF-8; messages are UTF-8")
            }
        }
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.shouldResolveExternalEntities = false
        parser.shouldProcessNamespaces = false
        parser.delegate = builder
        builder.parser = parser
        let wellFormed = parser.parse()
        if let refusal = builder.refusal { throw refusal }
        guard wellFormed, let root = builder.root else {
            let code = (parser.parserError as NSError?)?.code ?? 0
            throw AdapterRefusal(location: "line \(parser.lineNumber), column \(parser.columnNumber)",
                                 "the XML is not well-formed: \(Self.errorWords[code] ?? "parser error \(code)"); a truncated file ends like this")
        }
        return root
    }

    /// Indented XML with a declaration; text escaped, attributes in the order given.
    static func render(_ root: NativeNode) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        write(root, depth: 0, into: &out)
        return out
    }

    private static func write(_ node: NativeNode, depth: Int, into out: inout String) {
        let indent = String(repeating: "  ", count: depth)
        out += indent + "<" + node.name
        for (name, value) in node.attributes { out += " \(name)=\"\(escape(value, attribute: true))\"" }
        if node.children.isEmpty {
            if let text = node.text { out += ">" + escape(text, attribute: false) + "</" + node.name + ">\n" } else { out += "/>\n" }
            return
        }
        out += ">\n"
        for child in node.children { write(child, depth: depth + 1, into: &out) }
        out += indent + "</" + node.name + ">\n"
    }

    private static func escape(_ text: String, attribute: Bool) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where attribute: out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Words for the parser's error codes (libxml2's, as `XMLParser.ErrorCode` numbers them) seen with broken files.
    private static let errorWords: [Int: String] = [
        4: "the document is empty", 5: "the document ends before its elements are closed",
        9: "a character that XML does not allow", 23: "an entity reference that is not declared",
        26: "an entity reference that is not declared", 38: "an attribute value is not quoted",
        39: "an attribute value is not closed", 41: "an attribute has no value", 64: "the XML declaration is malformed",
        73: "a closing tag is malformed", 76: "a closing tag does not match its opening tag",
        85: extraContent,
    ]

    /// The words for content after the root element, both where the parse stops on it and where
    /// libxml2 only reports it and the parse goes on (see `TreeBuilder`).
    private static let extraContent = "extra content after the document's root element"

    /// Builds the tree while the parser reads; element locations carry their line.
    private final class TreeBuilder: NSObject, XMLParserDelegate {
        weak var parser: XMLParser?
        var root: NativeNode?
        var refusal: AdapterRefusal?
        private var stack: [(node: NativeNode, counts: [String: Int])] = []
        private var text = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            guard stack.count < XMLSyntax.maximumDepth else {
                refusal = AdapterRefusal(location: "line \(parser.lineNumber)", "elements are nested deeper than \(XMLSyntax.maximumDepth) levels")
                return parser.abortParsing()
            }
            let parentPath = stack.last?.node.location.split(separator: " ").first.map(String.init) ?? ""
            var position = 1
            if !stack.isEmpty {
                position = (stack[stack.count - 1].counts[name] ?? 0) + 1
                stack[stack.count - 1].counts[name] = position
            }
            var node = NativeNode(name: name, location: "\(parentPath)/\(name)[\(position)] (line \(parser.lineNumber))")
            node.setDistinctAttributes(attributes)
            stack.append((node, [:]))
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
        func parser(_ parser: XMLParser, foundCDATA block: Data) { text += String(decoding: block, as: UTF8.self) }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            guard var (node, _) = stack.popLast() else { return }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if node.children.isEmpty, !trimmed.isEmpty { node.text = trimmed }
            text = ""
            if stack.isEmpty { root = node } else { stack[stack.count - 1].node.children.append(node) }
        }

        /// libxml2 reports content after the root element (a second document sent along, stray
        /// text), but `XMLParser.parse()` still returns true and the content is never read: without
        /// this, the partner would be told its message was taken while part of it was dropped.
        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            guard root != nil, refusal == nil else { return }
            refusal = AdapterRefusal(location: "line \(parser.lineNumber), column \(parser.columnNumber)",
                                     "\(XMLSyntax.extraContent): a message is one XML document; send another as a message of its own")
        }

        func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
            refusal = AdapterRefusal(location: "line \(parser.lineNumber)", "entity declarations are not accepted")
            parser.abortParsing()
        }

        func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) {
            refusal = AdapterRefusal(location: "line \(parser.lineNumber)", "external entities are not accepted")
            parser.abortParsing()
        }
    }
}
