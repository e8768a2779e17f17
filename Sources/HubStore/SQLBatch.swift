/// Merges single-row upserts of the same text into multi-row ones: one round trip for many rows,
/// which is what a PostgreSQL store over the network needs (one statement per fact spends its time
/// waiting for the server). Only for statements whose order does not matter (the ledger's upserts
/// keep the same row in any order): merging changes the order in which rows are written.
///
/// A statement is merged when its text is `INSERT INTO table (columns) VALUES (?, ..., ?) rest`.
/// PostgreSQL refuses a multi-row `ON CONFLICT (target) DO UPDATE` that touches one row twice, so
/// rows with the same target values go into different statements.
public enum SQLBatch {
    /// Bound values per statement, under SQLite's and PostgreSQL's limits (32 766 and 65 535).
    public static let maximumArguments = 30_000

    public static func merged(_ statements: [SQLStatement]) -> [SQLStatement] {
        var order: [String] = []
        var groups: [String: (shape: Shape, rows: [[SQLValue]])] = [:]
        var others: [SQLStatement] = []
        for statement in statements {
            guard let shape = Shape(statement.sql), shape.width == statement.arguments.count else {
                others.append(statement)
                continue
            }
            let text = shape.head + shape.tail
            if groups[text] == nil { order.append(text) }
            groups[text, default: (shape, [])].rows.append(statement.arguments)
        }
        return others + order.flatMap { text in
            let (shape, rows) = groups[text]!
            return chunks(rows, shape: shape).map { chunk in
                let placeholders = "(" + Array(repeating: "?", count: shape.width).joined(separator: ", ") + ")"
                return SQLStatement(sql: shape.head + Array(repeating: placeholders, count: chunk.count).joined(separator: ", ") + shape.tail,
                                    arguments: chunk.flatMap { $0 })
            }
        }
    }

    /// Rows in order, a new chunk when one is full or would hold a target twice.
    private static func chunks(_ rows: [[SQLValue]], shape: Shape) -> [[[SQLValue]]] {
        var chunks: [[[SQLValue]]] = [[]]
        var targets: Set<[String]> = []
        for row in rows {
            let target = shape.target.map { String(describing: row[$0]) }
            if chunks[chunks.count - 1].count * shape.width + shape.width > maximumArguments || (!target.isEmpty && targets.contains(target)) {
                chunks.append([])
                targets = []
            }
            chunks[chunks.count - 1].append(row)
            if !target.isEmpty { targets.insert(target) }
        }
        return chunks
    }

    /// `INSERT INTO t (a, b) VALUES ` + `(?, ?)` + ` ON CONFLICT (a) ...`, read from a statement's text.
    struct Shape {
        var head: String
        var width: Int
        var tail: String
        /// The positions of the `ON CONFLICT (...)` target's columns among the inserted ones.
        var target: [Int]

        init?(_ sql: String) {
            guard sql.hasPrefix("INSERT INTO "), let values = sql.range(of: " VALUES ("),
                  let open = sql[..<values.lowerBound].firstIndex(of: "("),
                  let close = sql[values.upperBound...].firstIndex(of: ")") else { return nil }
            let row = sql[values.upperBound..<close].split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard !row.isEmpty, row.allSatisfy({ $0 == "?" }) else { return nil }
            let columns = sql[sql.index(after: open)..<values.lowerBound].dropLast().split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            head = String(sql[..<values.upperBound].dropLast())
            width = row.count
            tail = String(sql[sql.index(after: close)...])
            target = []
            if let conflict = tail.range(of: "ON CONFLICT ("), let end = tail[conflict.upperBound...].firstIndex(of: ")") {
                let names = tail[conflict.upperBound..<end].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                target = names.compactMap { columns.firstIndex(of: $0) }
                guard target.count == names.count else { return nil }
            }
        }
    }
}
