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
        let parts = source.split(separator: ":")
        return parts.count >= 3 && parts[0] == "urn" && parts[1] == "ketenhub" ? String(parts[2]) : nil
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
    static let requiredAttributes: [(String, WritableKeyPath<CloudEvent, String> & Sendable)] = [
        ("specversion", \.specversion), ("id", \.id), ("source", \.source), ("type", \.type), ("time", \.time),
        ("datacontenttype", \.datacontenttype), ("ketencaseid", \.ketencaseid),
    ]
    static let optionalAttributes: [(String, WritableKeyPath<CloudEvent, String?> & Sendable)] = [
        ("subject", \.subject), ("dataschema", \.dataschema), ("partnerref", \.partnerref), ("decisionid", \.decisionid),
        ("ruleid", \.ruleid), ("legalbasis", \.legalbasis), ("purpose", \.purpose), ("disclosure", \.disclosure),
        ("matrixversion", \.matrixversion),
    ]

    public init(structured value: JSONValue) throws {
        guard case .object(let members) = value else { throw CanonicalEventError.notAnObject }
        self.init(id: "", source: "", type: "", time: "", ketencaseid: "", data: .null)
        for (name, path) in Self.requiredAttributes {
            guard let text = members[name]?.stringValue else { throw CanonicalEventError.missingAttribute(name) }
            self[keyPath: path] = text
        }
        for (name, path) in Self.optionalAttributes {
            guard let member = members[name] else { continue }
            guard let text = member.stringValue else { throw CanonicalEventError.missingAttribute(name) }
            self[keyPath: path] = text
        }
        guard let data = members["data"] else { throw CanonicalEventError.missingAttribute("data") }
        self.data = data
    }

    public var structured: JSONValue {
        var members: [String: JSONValue] = ["data": data]
        for (name, path) in Self.requiredAttributes { members[name] = .string(self[keyPath: path]) }
        for (name, path) in Self.optionalAttributes { if let text = self[keyPath: path] { members[name] = .string(text) } }
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
        case .unknownType(let type): "unknown event type '\(type)'"
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
