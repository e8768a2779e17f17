import CanonicalEvents
import Foundation
import Testing

@Suite("Contract catalogue")
struct CatalogueTests {
    @Test("every schema has a Swift type and every Swift event type a schema")
    func schemasMatchSwiftTypes() throws {
        let fromDisk = try ContractCatalogue(directory: Contracts.events)
        let swiftNames = CanonicalEventTypes.all.map { $0.eventName }.sorted()
        #expect(fromDisk.eventNames == swiftNames)
        #expect(swiftNames.count == 20)
        for model in CanonicalEventTypes.all {
            #expect(fromDisk.schemaByEventType[model.cloudEventType] == model.schemaFile)
        }
    }

    @Test("the contracts built into the hub are exactly the files in Contracts/events (run scripts/embed-contracts.py)")
    func embeddedMatchesDisk() throws {
        let fromDisk = try ContractCatalogue(directory: Contracts.events)
        #expect(ContractCatalogue.embedded.schemas.documents == fromDisk.schemas.documents)
    }

    @Test("an unknown event type, and text that is not JSON, are reported as problems")
    func unknownTypeAndMalformedJSON() throws {
        var event = try Contracts.json("melding/valid/aangifte-belaging.json").objectValue!
        event["type"] = .string("nl.ketenhub.burenruzie.v1")
        #expect(ContractCatalogue.embedded.validate(event: .object(event)) ==
                [ValidationProblem(pointer: JSONPointer("/type"), reason: "is not a known event type (the contracts' types are nl.ketenhub.<event>.v<version>)")])
        #expect(ContractCatalogue.embedded.validate(json: Data("{\"specversion\": ".utf8)) ==
                [ValidationProblem(pointer: .root, reason: "not valid JSON")])
    }

    @Test("every problem of a document is reported, each at its own pointer")
    func everyProblem() throws {
        var data = try Contracts.json("gedragsaanwijzing/valid/opgelegd.json")["data"]!.objectValue!
        data["endDate"] = nil
        data["conditions"] = .array([.object(["type": .string("brandverbod"), "description": .string("x")])])
        data["persons"] = .array([.object(["id": .string("psn:00000000000000000000000000000000")])])
        var event = try Contracts.json("gedragsaanwijzing/valid/opgelegd.json").objectValue!
        event["data"] = .object(data)
        let problems = ContractCatalogue.embedded.validate(event: .object(event))
        #expect(Set(problems.map(\.pointer.description)) == ["/data/endDate", "/data/conditions/0/type", "/data/persons"])
        #expect(problems.contains(ValidationProblem(pointer: JSONPointer("/data/endDate"), reason: "required property 'endDate' is missing")))
        #expect(problems.contains { $0.pointer == JSONPointer("/data/conditions/0/type") && $0.reason.hasPrefix("is not one of: contactverbod,") && !$0.reason.contains("brandverbod") })
        #expect(problems.contains(ValidationProblem(pointer: JSONPointer("/data/persons"), reason: "property 'persons' is not allowed")))
    }

    @Test("problems are listed in one order: the envelope's, then the data's; in an object its missing members, then its members by name")
    func problemOrder() throws {
        var data = try Contracts.json("gedragsaanwijzing/valid/opgelegd.json")["data"]!.objectValue!
        data["endDate"] = nil
        data["startDate"] = .string("2026-13-01")
        data["conditions"] = .array([.object(["type": .string("brandverbod"), "description": .string("x")])])
        data["persons"] = .array([])
        var event = try Contracts.json("gedragsaanwijzing/valid/opgelegd.json").objectValue!
        event["data"] = .object(data)
        event["time"] = .string("2026-02-30T10:00:00Z")
        let problems = ContractCatalogue.embedded.validate(event: .object(event))
        #expect(problems.map(\.pointer.description) == ["/time", "/data/endDate", "/data/conditions/0/type", "/data/persons", "/data/startDate"])
    }

    @Test("a date names a day that exists: month 1-12, the month's last day, 29 February in leap years only",
          arguments: [("2024-02-29", true), ("2023-02-29", false), ("2000-02-29", true), ("1900-02-29", false), ("2026-04-31", false),
                      ("2026-12-31", true), ("2026-00-10", false), ("2026-1-10", false), ("2026-01-10x", false), ("2026/01/10", false),
                      ("2026-01-10T09:30:00+01:00", false)])
    func calendarDates(date: String, valid: Bool) throws {
        var event = try Contracts.json("gedragsaanwijzing/valid/opgelegd.json").objectValue!
        var data = event["data"]!.objectValue!
        data["startDate"] = .string(date)
        event["data"] = .object(data)
        let problems = ContractCatalogue.embedded.validate(event: .object(event))
        #expect(problems.isEmpty == valid, "\(problems)")
        if !valid { #expect(problems.map(\.pointer.description) == ["/data/startDate"]) }
        // The same day as the date of a time stamp.
        event["data"] = try Contracts.json("gedragsaanwijzing/valid/opgelegd.json")["data"]
        event["time"] = .string(String(date.prefix(10)) + "T10:00:00Z")
        #expect(ContractCatalogue.embedded.validate(event: .object(event)).isEmpty == (valid || date.count > 10 && date.prefix(10) == "2026-01-10"))
    }

    @Test("an event built in Swift validates against its schema")
    func swiftBuiltEvent() throws {
        let order = Gedragsaanwijzing(
            orderId: "GA-2026-0400", action: .verlengd, version: 2, suspect: "psn:0123456789abcdef0123456789abcdef",
            protectedPersons: ["psn:fedcba9876543210fedcba9876543210"],
            conditions: [Condition(type: .contactverbod, description: "Geen contact.", protectedPersons: ["psn:fedcba9876543210fedcba9876543210"])],
            startDate: "2026-11-01", endDate: "2027-01-30")
        let event = try CloudEvent(id: "om-ga-2026-0400-v2", source: "urn:ketenhub:om", time: "2026-11-22T10:00:00Z",
                                   ketencaseid: "KZ-2026-ABC123", data: order)
        #expect(event.type == "nl.ketenhub.gedragsaanwijzing.v1")
        #expect(event.producer == "om")
        #expect(ContractCatalogue.embedded.validate(event: event.structured) == [])
        #expect(try event.decodeData(as: Gedragsaanwijzing.self) == order)
    }

    @Test("binary mode: attributes become ce_ headers, data the value, the chain case id the key")
    func binaryMode() throws {
        let event = try CloudEvent(structured: Contracts.json("gedragsaanwijzing/valid/opgelegd.json"))
        let record = event.kafkaRecord()
        #expect(record.key == "KZ-2026-4F7Q2A")
        #expect(record.header("ce_specversion") == "1.0")
        #expect(record.header("ce_type") == "nl.ketenhub.gedragsaanwijzing.v1")
        #expect(record.header("ce_ketencaseid") == "KZ-2026-4F7Q2A")
        #expect(record.header("ce_subject") == "GA-2026-0311")
        #expect(record.header("content-type") == "application/json")
        #expect(record.header("ce_data") == nil)
        #expect(try JSONValue.parse(Data(record.value)) == event.data)
        // A record without the required attributes is refused with a clear error.
        let stripped = CloudEventRecord(key: record.key, headers: record.headers.filter { $0.name != "ce_id" }, value: record.value)
        #expect(throws: CanonicalEventError.missingHeader("ce_id")) { try CloudEvent(kafkaRecord: stripped) }
    }
}
