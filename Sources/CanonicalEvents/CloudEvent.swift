import Foundation

/// A canonical event: a CloudEvents 1.0 envelope around one event's data. The hub's extension
/// attributes: `ketencaseid` (the chain case id, also the Kafka key) and `partnerref` on every event;
/// `decisionid`, `ruleid`, `legalbasis`, `purpose`, `disclosure` and `matrixversion` on deliveries.
public struct CloudEvent: Codable, Sendable, Hashable {
    public var specversion: String = "1.0"
    public var id: String
    public var source: String
    public var type: String
    public var subject: String?
    public var time: Timestamp
    public var datacontenttype: String = "application/json"
    public var dataschema: String?
    public var ketencaseid: String
    public var partnerref: String?
    public var decisionid: String?
    public var ruleid: String?
    public var legalbasis: String?
    public var purpose: String?
    public var disclosure: String?
    public var matrixversion: String?
    public var data: JSONValue

    public init(id: String, source: String, type: String, time: Timestamp, ketencaseid: String, data: JSONValue,
                subject: String? = nil, partnerref: String? = nil) {
        self.id = id
        self.source = source
        self.type = type
        self.time = time
        self.ketencaseid = ketencaseid
        self.data = data
        self.subject = subject
        self.partnerref = partnerref
    }

    /// An event carrying typed data.
    public init<Data: CanonicalEventData>(id: String, source: String, time: Timestamp, ketencaseid: String, data: Data,
                                          subject: String? = nil, partnerref: String? = nil) throws {
        self.init(id: id, source: source, type: Data.cloudEventType, time: time, ketencaseid: ketencaseid,
                  data: try JSONValue(encoding: data), subject: subject, partnerref: partnerref)
    }

    /// The organisation that produced the event, from `source` (`urn:ketenhub:<organisation>[:<system>]`).
    public var producer: String? { Self.organisation(fromSource: source) }

    public static func organisation(fromSource source: String) -> String? {
        // Read for every event the router decides on: a prefix and one search, no split.
        let prefix = "urn:ketenhub:"
        guard source.hasPrefix(prefix) else { return nil }
        let rest = source.utf8.dropFirst(prefix.utf8.count)
        let organisation = rest.prefix { $0 != UInt8(ascii: ":") }
        return organisation.isEmpty ? nil : String(Substring(organisation))
    }

    /// The data as its Swift model.
    public func decodeData<Data: CanonicalEventData>(as model: Data.Type) throws -> Data {
        try JSONDecoder().decode(model, from: data.encoded())
    }

    /// The data as the Swift model its `type` names.
    public func decodeData() throws -> any CanonicalEventData {
        guard let model = CanonicalEventTypes.model(forCloudEventType: type) else {
            throw CanonicalEventError.unknownType(type)
        }
        return try decodeData(as: model)
    }

    // MARK: Structured mode (one JSON document)

    /// Every string attribute and where it lives, so that converting to and from JSON is a table
    /// lookup instead of a round trip through an encoder (this is the router's hot path).
    /// One string attribute: its name, whether every event has it, and how it is read and written.
    /// Plain closures, not key paths: reading a key path costs more than the rest of writing a
    /// delivery's headers, and this runs for every attribute of every event the router reads and writes.
    struct Attribute: Sendable {
        let name: String
        let isRequired: Bool
        let get: @Sendable (CloudEvent) -> String?
        let set: @Sendable (inout CloudEvent, String) -> Void
    }

    /// Every string attribute, in name order (the order of a record's headers).
    static let attributes: [Attribute] = [
        Attribute(name: "datacontenttype", isRequired: true, get: { $0.datacontenttype }, set: { $0.datacontenttype = $1 }),
        Attribute(name: "dataschema", isRequired: false, get: { $0.dataschema }, set: { $0.dataschema = $1 }),
        Attribute(name: "decisionid", isRequired: false, get: { $0.decisionid }, set: { $0.decisionid = $1 }),
        Attribute(name: "disclosure", isRequired: false, get: { $0.disclosure }, set: { $0.disclosure = $1 }),
        Attribute(name: "id", isRequired: true, get: { $0.id }, set: { $0.id = $1 }),
        Attribute(name: "ketencaseid", isRequired: true, get: { $0.ketencaseid }, set: { $0.ketencaseid = $1 }),
        Attribute(name: "legalbasis", isRequired: false, get: { $0.legalbasis }, set: { $0.legalbasis = $1 }),
        Attribute(name: "matrixversion", isRequired: false, get: { $0.matrixversion }, set: { $0.matrixversion = $1 }),
        Attribute(name: "partnerref", isRequired: false, get: { $0.partnerref }, set: { $0.partnerref = $1 }),
        Attribute(name: "purpose", isRequired: false, get: { $0.purpose }, set: { $0.purpose = $1 }),
        Attribute(name: "ruleid", isRequired: false, get: { $0.ruleid }, set: { $0.ruleid = $1 }),
        Attribute(name: "source", isRequired: true, get: { $0.source }, set: { $0.source = $1 }),
        Attribute(name: "specversion", isRequired: true, get: { $0.specversion }, set: { $0.specversion = $1 }),
        Attribute(name: "subject", isRequired: false, get: { $0.subject }, set: { $0.subject = $1 }),
        Attribute(name: "time", isRequired: true, get: { $0.time }, set: { $0.time = $1 }),
        Attribute(name: "type", isRequired: true, get: { $0.type }, set: { $0.type = $1 }),
    ]

    public init(structured value: JSONValue) throws {
        guard case .object(let members) = value else { throw CanonicalEventError.notAnObject }
        self.init(id: "", source: "", type: "", time: "", ketencaseid: "", data: .null)
        for attribute in Self.attributes {
            guard let member = members[attribute.name] else {
                if attribute.isRequired { throw CanonicalEventError.missingAttribute(attribute.name) }
                continue
            }
            guard let text = member.stringValue else { throw CanonicalEventError.missingAttribute(attribute.name) }
            attribute.set(&self, text)
        }
        guard let data = members["data"] else { throw CanonicalEventError.missingAttribute("data") }
        self.data = data
    }

    public var structured: JSONValue {
        var members: [String: JSONValue] = ["data": data]
        for attribute in Self.attributes { if let text = attribute.get(self) { members[attribute.name] = .string(text) } }
        return .object(members)
    }
}

public enum CanonicalEventError: Error, CustomStringConvertible, Equatable {
    case unknownType(String)
    case notAnObject
    case missingAttribute(String)
    case missingHeader(String)
    case invalidHeader(String, String)

    public var description: String {
        switch self {
        case .unknownType: "not a known event type (the contracts' types are nl.ketenhub.<event>.v<version>)"
        case .notAnObject: "a CloudEvent must be a JSON object"
        case .missingAttribute(let name): "attribute \(name) is missing or not a string"
        case .missingHeader(let name): "the record has no \(name) header"
        case .invalidHeader(let name, let reason): "header \(name): \(reason)"
        }
    }
}

extension JSONValue {
    /// Any `Encodable` value as JSON.
    public init(encoding value: some Encodable) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }
}

extension CloudEvent {
    /// The value a JSON Pointer designates in the structured event; pointers into `data` are resolved
    /// without re-encoding the envelope.
    public func value(at pointer: JSONPointer) -> JSONValue? {
        if pointer.tokens.first == "data" {
            return JSONPointer(tokens: Array(pointer.tokens.dropFirst())).resolve(in: data)
        }
        return pointer.resolve(in: structured)
    }
}
