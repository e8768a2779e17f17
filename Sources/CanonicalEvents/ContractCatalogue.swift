import Foundation

/// The canonical contracts as data: every event schema, and validation of events against them.
/// Which `type` belongs to which schema is read from the schemas themselves (`properties.type.const`).
public struct ContractCatalogue: Sendable {
    public static let envelopeSchema = "cloudevent.schema.json"
    public static let commonSchema = "common.schema.json"

    public let schemas: SchemaSet
    /// CloudEvents `type` to schema file, for every event schema.
    public let schemaByEventType: [String: String]

    /// The contracts compiled into the hub (generated from `Contracts/events/`).
    public static let embedded: ContractCatalogue = {
        let documents = EmbeddedContracts.files.mapValues { try! JSONValue.parse(Data($0.utf8)) }
        return ContractCatalogue(documents: documents)
    }()

    /// The contracts in a directory such as `Contracts/events/`.
    public init(directory: URL) throws {
        var documents: [String: JSONValue] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".schema.json") {
            documents[name] = try JSONValue.parse(Data(contentsOf: directory.appendingPathComponent(name)))
        }
        self.init(documents: documents)
    }

    public init(documents: [String: JSONValue]) {
        schemas = SchemaSet(documents: documents)
        var byType: [String: String] = [:]
        for (file, document) in documents {
            if let type = document["properties"]?["type"]?["const"]?.stringValue { byType[type] = file }
        }
        schemaByEventType = byType
    }

    /// The event names (`gedragsaanwijzing`, ...) the catalogue has schemas for.
    public var eventNames: [String] {
        schemaByEventType.values.map { String($0.dropLast(".schema.json".count)) }.sorted()
    }

    /// Every problem of a canonical event in structured JSON: the envelope, then its data against
    /// the schema of its type. An unknown type is itself a problem.
    /// The organisation types that publish an event (`x-producers` of its schema).
    public func producers(of eventName: String) -> [String] {
        (schemas.documents["\(eventName).schema.json"]?["x-producers"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    public func validate(event: JSONValue) -> [ValidationProblem] {
        guard let type = event["type"]?.stringValue, let file = schemaByEventType[type] else {
            var problems = schemas.validate(event, against: Self.envelopeSchema)
            if event["type"]?.stringValue != nil {
                problems.append(ValidationProblem(pointer: JSONPointer("/type"), reason: "is not a known event type (the contracts' types are nl.ketenhub.<event>.v<version>)"))
            }
            return problems
        }
        return schemas.validate(event, against: file)
    }

    /// Validates JSON text; text that is not JSON is one problem at the root.
    public func validate(json data: Data) -> [ValidationProblem] {
        do {
            return validate(event: try JSONValue.parse(data))
        } catch {
            return [ValidationProblem(pointer: .root, reason: "not valid JSON")]
        }
    }
}
