import CanonicalEvents

/// Delimited text (RFC 4180 quoting) with a header row, for partners that exchange batch files.
/// Each data row becomes a node named `row` whose children are its non-empty cells by column name.
enum CSVSyntax {
    /// Characters that make a spreadsheet treat a cell as a formula.
    static let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]

    static func parse(_ text: String, delimiter: Character, columns: [String]) throws -> NativeNode {
        let rows = try records(text, delimiter: delimiter)
        guard let header = rows.first else { throw AdapterRefusal("the file has no header row") }
        var problems: [AdapterProblem] = []
        for (index, name) in header.fields.enumerated() where !columns.contains(name) {
            problems.append(AdapterProblem(location: "line 1, column \(index + 1)", reason: "unknown column '\(ValidationProblem.quotedName(name))'"))
        }
        if !problems.isEmpty { throw AdapterRefusal(problems) }
        var root = NativeNode(name: "batch", location: "file")
        for row in rows.dropFirst() {
            if row.fields.count == 1 && row.fields[0].isEmpty { continue }  // a blank line
            guard row.fields.count == header.fields.count else {
                throw AdapterRefusal(location: "line \(row.line)", "expected \(header.fields.count) fields, found \(row.fields.count); a truncated file ends like this")
            }
            var node = NativeNode(name: "row", location: "line \(row.line)")
            for (name, value) in zip(header.fields, row.fields) where !value.isEmpty {
                node.children.append(NativeNode(name: name, text: unneutralised(value), location: "line \(row.line), column \(name)"))
            }
            root.children.append(node)
        }
        return root
    }

    /// Writes the header and one line per `row` node; cells that a spreadsheet would run as a formula
    /// are prefixed with an apostrophe, so that opening the file runs nothing.
    static func render(_ root: NativeNode, delimiter: Character, columns: [String]) -> String {
        var out = columns.map { quote($0, delimiter) }.joined(separator: String(delimiter)) + "\r\n"
        for row in root.children {
            out += columns.map { column in
                let value = row.children.first { $0.name == column }?.text ?? ""
                return quote(neutralised(value), delimiter)
            }.joined(separator: String(delimiter)) + "\r\n"
        }
        return out
    }

    static func neutralised(_ value: String) -> String {
        guard let first = value.first, formulaStarts.contains(first) else { return value }
        return "'" + value
    }

    /// A cell in its neutralised form (as this format writes it, and asks partners to) is read as
    /// the value it stands for.
    static func unneutralised(_ value: String) -> String {
        guard value.hasPrefix("'"), let second = value.dropFirst().first, formulaStarts.contains(second) else { return value }
        return String(value.dropFirst())
    }

    private static func quote(_ value: String, _ delimiter: Character) -> String {
        guard value.contains(where: { $0 == delimiter || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private struct Record { var fields: [String]; var line: Int }

    private static func records(_ text: String, delimiter: Character) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var recordLine = 1
        var characters = Array(text)
        if characters.last != "\n" { characters.append("\n") }
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if quoted {
                if character == "\"" {
                    if index + 1 < characters.count, characters[index + 1] == "\"" { field.append("\""); index += 1 } else { quoted = false }
                } else {
                    if character == "\n" || character == "\r\n" { line += 1 }
                    field.append(character)
                }
            } else if character == "\"" && field.isEmpty {
                quoted = true
            } else if character == delimiter {
                fields.append(field)
                field = ""
            } else if character == "\n" || character == "\r\n" || character == "\r" {
                fields.append(field)
                records.append(Record(fields: fields, line: recordLine))
                fields = []
                field = ""
                line += 1
                recordLine = line
            } else {
                field.append(character)
            }
            index += 1
        }
        if quoted { throw AdapterRefusal(location: "line \(recordLine)", "a quoted field is not closed; a truncated file ends like this") }
        return records
    }
}
