import Foundation

/// A canonical event as a Kafka record in the CloudEvents Kafka protocol binding, binary mode:
/// each attribute is a `ce_<name>` header (UTF-8), `datacontenttype` is the `content-type` header,
/// the data is the record value and the chain case id the record key, so that every event of one
/// case lands on one partition, in order. Kept free of any Kafka client type: the transport maps it.
public struct CloudEventRecord: Sendable, Hashable {
    public var key: String
    public var headers: [Header]
    public var value: [UInt8]

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(key: String, headers: [Header], value: [UInt8]) {
        self.key = key
        self.headers = headers
        self.value = value
    }

    public func header(_ name: String) -> String? { headers.first { $0.name == name }?.value }
}

extension CloudEvent {
    static let headerPrefix = "ce_"
    static let contentTypeHeader = "content-type"

    /// Binary mode: attributes to headers (in name order, so equal events give equal records).
    public func kafkaRecord() -> CloudEventRecord { kafkaRecord(value: data.encodedBytes()) }

    /// The record with its value given: `data.encodedBytes()`, written once for several events that
    /// carry the same data (deliveries of one event disclosing the same fields).
    public func kafkaRecord(value: [UInt8]) -> CloudEventRecord {
        var headers: [CloudEventRecord.Header] = []
        headers.reserveCapacity(Self.headerAttributes.count + 1)
        for (header, attribute) in Self.headerAttributes {
            if let value = attribute.get(self) { headers.append(CloudEventRecord.Header(name: header, value: value)) }
        }
        headers.append(CloudEventRecord.Header(name: Self.contentTypeHeader, value: datacontenttype))
        return CloudEventRecord(key: ketencaseid, headers: headers, value: value)
    }

    /// Every attribute but `datacontenttype`, with its header name, in name order: read straight from
    /// the event (every delivery is encoded this way) rather than through its JSON form.
    private static let headerAttributes: [(String, Attribute)] =
        attributes.filter { $0.name != "datacontenttype" }.map { (headerPrefix + $0.name, $0) }

    /// Reads a binary-mode record back. Headers that are not CloudEvents attributes are ignored.
    public init(kafkaRecord record: CloudEventRecord) throws {
        try self.init(structured: Self.structured(kafkaRecord: record))
    }

    /// A binary-mode record in the structured form (the attributes among its headers, and its data),
    /// as `structured` gives it for the event read back: a reader that also validates the event
    /// builds that form once. Headers that are not CloudEvents attributes are left out.
    public static func structured(kafkaRecord record: CloudEventRecord) throws -> JSONValue {
        // At its final size from the start (the attributes, content type and data): grown member by
        // member, it was rehashed at every doubling.
        var attributes = [String: JSONValue](minimumCapacity: record.headers.count + 2)
        for header in record.headers {
            if let name = attributeNames[header.name] { attributes[name] = .string(header.value) }
        }
        for required in ["specversion", "id", "source", "type"] where attributes[required] == nil {
            throw CanonicalEventError.missingHeader(Self.headerPrefix + required)
        }
        attributes["datacontenttype"] = .string(record.header(Self.contentTypeHeader) ?? "application/json")
        do {
            attributes["data"] = try JSONParser.parse(bytes: record.value)
        } catch {
            throw CanonicalEventError.invalidHeader("value", "the data is not valid JSON")
        }
        return .object(attributes)
    }

    /// Attribute names by header name.
    private static let attributeNames = Dictionary(uniqueKeysWithValues: headerAttributes.map { ($0.0, $0.1.name) })
}

