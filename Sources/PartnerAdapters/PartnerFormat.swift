import CanonicalEvents
import Foundation
import Yams

/// A partner's native message format, as data (`Contracts/partners/<partner>/format.yaml`): its
/// syntax, its limits, where its records are, and per kind of record the table that maps native
/// fields to the canonical event's fields. The same table reads inbound messages and writes
/// outbound ones, so the two directions cannot drift apart.
public struct PartnerFormat: Sendable, Codable {
    public enum Syntax: String, Sendable, Codable { case xml, json, csv }

    /// Where records are in a message and what identifies them.
    public struct MessageLayout: Sendable, Codable {
        /// The root element (XML) or the name given to the root object (JSON) or file (CSV).
        public var root: String
        /// The record nodes, relative to the root: each becomes one canonical event.
        public var records: String
        /// The organisation that sent the message, relative to the root; must be the authenticated one.
        public var sender: String?
        /// Relative to a record: the partner's own id of the record, the source of the event id.
        public var recordId: String
        /// Relative to a record: which kind of record it is (selects the mapping).
        public var kind: String
    }

    public var partner: String
    public var title: String
    /// The organisations that send and receive this format: codes, or a prefix ending in `*` (`vt-*`).
    public var organisations: [String]
    public var syntax: Syntax
    public var maxBytes: Int
    /// CSV only: the field delimiter and the columns, in file order.
    public var delimiter: String?
    public var columns: [String]?
    /// How this format writes true and false (XML and CSV; JSON has its own).
    public var booleans: BooleanWords?
    public var message: MessageLayout
    /// The kinds of record the partner sends (and receives back, where the matrix lets it).
    public var kinds: [KindMapping]
    /// The tables of facts the partner only receives (deliveries): the hub writes them, and a
    /// partner's message holding one is refused, since a partner speaks only of its own facts.
    public var receives: [KindMapping] = []
    /// A format the partner only receives deliveries in (its own messages come in another one).
    public var receiveOnly: Bool = false

    enum CodingKeys: String, CodingKey {
        case partner, title, organisations, syntax, maxBytes, delimiter, columns, booleans, message, kinds, receives, receiveOnly
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        partner = try container.decode(String.self, forKey: .partner)
        title = try container.decode(String.self, forKey: .title)
        organisations = try container.decode([String].self, forKey: .organisations)
        syntax = try container.decode(Syntax.self, forKey: .syntax)
        maxBytes = try container.decode(Int.self, forKey: .maxBytes)
        delimiter = try container.decodeIfPresent(String.self, forKey: .delimiter)
        columns = try container.decodeIfPresent([String].self, forKey: .columns)
        booleans = try container.decodeIfPresent(BooleanWords.self, forKey: .booleans)
        message = try container.decode(MessageLayout.self, forKey: .message)
        kinds = try container.decodeIfPresent([KindMapping].self, forKey: .kinds) ?? []
        receives = try container.decodeIfPresent([KindMapping].self, forKey: .receives) ?? []
        receiveOnly = try container.decodeIfPresent(Bool.self, forKey: .receiveOnly) ?? false
    }

    public struct BooleanWords: Sendable, Codable {
        public var `true`: String
        public var `false`: String
    }

    /// One kind of record and its canonical event.
    public struct KindMapping: Sendable, Codable {
        /// The kind's code in the native message (the value at `message.kind`).
        public var kind: String
        /// The canonical event name, as in `Contracts/events/<event>.schema.json`.
        public var event: String
        /// Relative to the record: the chain case id, the event time, and optionally the partner's case reference.
        public var caseId: String
        public var time: String
        public var reference: String?
        public var fields: [FieldMapping]
    }

    /// Whether `organisation` may send and receive messages in this format.
    public func serves(_ organisation: String) -> Bool {
        organisations.contains { pattern in
            pattern.hasSuffix("*") ? organisation.hasPrefix(String(pattern.dropLast())) : organisation == pattern
        }
    }

    /// The table of a kind of record: of the partner's own kinds, and for a delivery also of the
    /// kinds it only receives.
    public func mapping(forKind kind: String, delivery: Bool = false) -> KindMapping? {
        kinds.first { $0.kind == kind } ?? (delivery ? receives.first { $0.kind == kind } : nil)
    }

    /// The table that writes an event of this name: for a delivery a received table first (an own
    /// table may write the partner itself as the organisation of the fact), else the own one.
    public func mapping(forEvent event: String, delivery: Bool = true) -> KindMapping? {
        let own = kinds.first { $0.event == event }, received = receives.first { $0.event == event }
        return delivery ? received ?? own : own ?? received
    }
}

/// One canonical field and where it lives in the native record.
public struct FieldMapping: Sendable, Codable {
    public enum ValueType: String, Sendable, Codable {
        case string, integer, boolean, datetime, date
        /// A calendar date written day-month-year (`23-11-2026`), as Dutch batch files do.
        case dateNL = "date-nl"
    }

    /// JSON Pointer into the event's data (into an item, inside `each` or `within`).
    public var to: String
    /// The native path, relative to the record (or to the item, inside `each` or `within`).
    public var from: String?
    public var type: ValueType?
    /// Native codes and the canonical values they stand for.
    public var values: [String: String]?
    /// A list of values: every node at `from` is one item.
    public var many: Bool?
    /// A list of objects: every node at this path is one item, read with `fields`.
    public var each: String?
    /// One object, read with `fields` from the node at this path.
    public var within: String?
    public var fields: [FieldMapping]?
    /// A canonical value the native format leaves implicit (inbound only): a string, read like a
    /// native value, or a list or object taken as it is (a consent's fixed scope, say).
    public var constant: JSONValue?

    enum CodingKeys: String, CodingKey {
        case to, from, type = "as", values, many, each, within, fields, constant
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        to = try container.decode(String.self, forKey: .to)
        from = try container.decodeIfPresent(String.self, forKey: .from)
        type = try container.decodeIfPresent(ValueType.self, forKey: .type)
        values = try container.decodeIfPresent([String: String].self, forKey: .values)
        many = try container.decodeIfPresent(Bool.self, forKey: .many)
        each = try container.decodeIfPresent(String.self, forKey: .each)
        within = try container.decodeIfPresent(String.self, forKey: .within)
        fields = try container.decodeIfPresent([FieldMapping].self, forKey: .fields)
        // A scalar is text (YAML's `3ro` is not a number here); anything else is structure.
        if let text = try? container.decodeIfPresent(String.self, forKey: .constant) {
            constant = .string(text)
        } else {
            constant = try container.decodeIfPresent(JSONValue.self, forKey: .constant)
        }
    }
}

/// The formats of every partner, loaded from `Contracts/partners/`.
public struct PartnerFormats: Sendable {
    public var formats: [String: PartnerFormat]

    public init(formats: [PartnerFormat]) {
        self.formats = Dictionary(formats.map { ($0.partner, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Reads every `<partner>/format.yaml` under `directory`.
    public static func load(directory: URL) throws -> PartnerFormats {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        var formats: [PartnerFormat] = []
        for name in names {
            let file = directory.appendingPathComponent(name).appendingPathComponent("format.yaml")
            guard FileManager.default.fileExists(atPath: file.path) else { continue }
            do {
                formats.append(try YAMLDecoder().decode(PartnerFormat.self, from: String(decoding: try Data(contentsOf: file), as: UTF8.self)))
            } catch {
                throw AdapterRefusal(location: file.path, "the format does not load: \(error)")
            }
        }
        return PartnerFormats(formats: formats)
    }

    /// The format of a partner named by format (`vt`) or by organisation (`vt-amsterdam-amstelland`):
    /// the one its own messages come in.
    public func format(for partner: String) -> PartnerFormat? {
        formats[partner].flatMap { $0.receiveOnly ? nil : $0 }
            ?? formats.values.sorted { $0.partner < $1.partner }.first { !$0.receiveOnly && $0.serves(partner) }
    }

    /// The format an organisation receives its deliveries in: a receive-only format that serves it
    /// (the reclassering sends batch files but receives structured messages), else its own.
    public func deliveryFormat(for organisation: String) -> PartnerFormat? {
        formats.values.sorted { $0.partner < $1.partner }.first { $0.receiveOnly && $0.serves(organisation) } ?? format(for: organisation)
    }
}
