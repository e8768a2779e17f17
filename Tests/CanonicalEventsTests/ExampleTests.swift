import CanonicalEvents
import Foundation
import Testing

@Suite("Contract examples against the Swift model")
struct ExampleTests {
    static let valid = Contracts.examples("valid")
    static let invalid = Contracts.examples("invalid")

    @Test("there are examples to check")
    func examplesExist() {
        #expect(Self.valid.count >= 36)
        #expect(Self.invalid.count >= 36)
    }

    @Test("a valid example has no problems", arguments: valid)
    func validExample(_ path: String) throws {
        let event = try Contracts.json(path)
        #expect(ContractCatalogue.embedded.validate(event: event) == [])
        // Its data decodes into the Swift type its `type` names.
        let typed = try CloudEvent(structured: event).decodeData()
        #expect(type(of: typed).eventName == path.split(separator: "/").first.map(String.init))
    }

    @Test("an invalid example has exactly the problem its .error file states", arguments: invalid)
    func invalidExample(_ path: String) throws {
        let problems = ContractCatalogue.embedded.validate(event: try Contracts.json(path))
        #expect(problems == [try Contracts.expectedProblem(path)])
    }

    @Test("a valid example survives JSON → Swift → Kafka record → Swift → JSON unchanged", arguments: valid)
    func roundTrip(_ path: String) throws {
        let original = try Contracts.json(path)
        var event = try CloudEvent(structured: original)
        // Through the typed model, so a field the Swift type lacks would be lost and caught here.
        let typed = try event.decodeData()
        event.data = try JSONValue(encoding: typed)
        let record = event.kafkaRecord()
        let back = try CloudEvent(kafkaRecord: record)
        #expect(back.structured == original)
        #expect(record.key == original["ketencaseid"]?.stringValue)
    }
}
