import CanonicalEvents
import Foundation
import KetenhubTestSupport
import PartnerAdapters
import SharingPolicy
import Testing

/// #16: every fact the shipped sharing matrix lets a partner receive is written in that partner's
/// own terms, with a table of its delivery format, never in a generic form. Golden files pin each
/// (partner, event) pair both ways: the contract's example rendered as a delivery equals
/// `Contracts/partners/<partner>/deliveries/<event>.<ext>`, and that file read back as a delivery is
/// the example again. Set KETENHUB_RECORD_GOLDEN=1 to write them anew after a deliberate change, then
/// review the diff.
@Suite("Partner formats: deliveries in the recipient's own terms")
struct DeliveryGoldenTests {
    typealias F = PartnerFixtures

    /// Every (partner, event) pair the shipped matrix permits: each rule's recipient type, with the
    /// format of an organisation of that type, and each of the rule's events.
    static let pairs: [Pair] = {
        let matrix = try! MatrixLoader.loadValid(directory: packageRoot.appendingPathComponent("Contracts/matrix"))
        var found: Set<Pair> = []
        for rule in matrix.allRules {
            guard let type = matrix.organisations.type(of: rule.recipient),
                  let organisation = matrix.organisations.organisations.first(where: { $0.type == type })?.code else { continue }
            for event in rule.events { found.insert(Pair(partner: type, organisation: organisation, event: event)) }
        }
        return found.sorted { ($0.partner, $0.event) < ($1.partner, $1.event) }
    }()

    struct Pair: Hashable, Sendable, CustomTestStringConvertible {
        var partner: String
        var organisation: String
        var event: String
        var testDescription: String { "\(partner) receives \(event)" }
    }

    /// The contract's first valid example of the event, with the recipient's own reference.
    static func example(_ event: String) throws -> CloudEvent {
        let folder = packageRoot.appendingPathComponent("Contracts/examples/\(event)/valid")
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted().first)
        var example = try CloudEvent(structured: JSONValue.parse(Data(contentsOf: folder.appendingPathComponent(name))))
        example.partnerref = "ONTV-2026-0042"
        return example
    }

    @Test("the matrix lets every partner receive something")
    func pairsFound() {
        #expect(Set(Self.pairs.map(\.partner)) == ["politie", "om", "vt", "3ro", "rvdk", "shn"])
        #expect(Self.pairs.count >= 70)
    }

    @Test("rendered with a table of the recipient's delivery format, equal to its golden file, and read back the same", arguments: pairs)
    func golden(pair: Pair) throws {
        let format = try #require(F.formats.deliveryFormat(for: pair.organisation))
        let translator = PartnerTranslator(format: format)
        #expect(format.mapping(forEvent: pair.event) != nil, "a table, not the generic form")
        let event = try Self.example(pair.event)
        let rendered = try translator.renderDelivery(event)
        let golden = F.directory.appendingPathComponent("\(pair.partner)/deliveries/\(pair.event).\(rendered.fileExtension)")
        if ProcessInfo.processInfo.environment["KETENHUB_RECORD_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(rendered.body.utf8).write(to: golden)
        }
        #expect(rendered.body == (try String(contentsOf: golden, encoding: .utf8)))
        // The golden file, read as the partner's back-office reads a delivery: the same fact.
        let back = try translator.readDelivery(Array(try Data(contentsOf: golden)))
        #expect(back.count == 1)
        #expect(back.first?.id == event.id && back.first?.type == event.type && back.first?.ketencaseid == event.ketencaseid)
        #expect(back.first?.time == event.time && back.first?.partnerref == "ONTV-2026-0042")
        #expect(back.first?.data == event.data)
    }

    @Test("a partner's own message holding a kind it only receives is refused, naming why")
    func receivedKindsAreNotSent() throws {
        let event = try Self.example("gedragsaanwijzing")
        let politie = F.translator("politie")
        let native = try politie.render([event], sender: "politie-amsterdam")
        #expect(throws: AdapterRefusal.self) { try politie.translate(Array(native.utf8), from: "politie-amsterdam") }
        do {
            _ = try politie.translate(Array(native.utf8), from: "politie-amsterdam")
        } catch {
            #expect(error.problems.contains { $0.reason.hasPrefix("the record is of a kind politie receives from the hub, not one it sends") })
        }
    }

    @Test("a fact without a table for its recipient is still written, in the format's generic form")
    func genericFormRemains() throws {
        // No partner receives an acknowledgement as a fact; its generic form keeps every value.
        var event = try Self.example("gedragsaanwijzing")
        event.type = "nl.ketenhub.onbekend.v1"
        let rendered = try F.translator("om").renderDelivery(event)
        #expect(rendered.body.contains("<Ketenbericht type=\"onbekend\""))
    }
}
