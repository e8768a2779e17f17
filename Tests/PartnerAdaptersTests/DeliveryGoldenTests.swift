import CanonicalEvents
import Foundation
import KetenhubTestSupport
import PartnerAdapters
import Testing

/// Deliveries of facts a partner's format has no table for are written in the format's generic
/// form; golden files pin that form for each partner (`Contracts/partners/<partner>/deliveries/`).
/// Set KETENHUB_RECORD_GOLDEN=1 to write them anew after a deliberate change, then review the diff.
@Suite("Partner formats: generic delivery form")
struct DeliveryGoldenTests {
    typealias F = PartnerFixtures

    static let cases: [(partner: String, example: String)] = [
        ("politie", "gedragsaanwijzing/valid/opgelegd.json"), ("om", "veiligheidsbeoordeling/valid/acuut-onveilig.json"),
        ("vt", "gedragsaanwijzing/valid/opgelegd.json"), ("3ro", "gedragsaanwijzing/valid/opgelegd.json"),
        ("rvdk", "schorsing/valid/met-enkelband.json"), ("shn", "invrijheidstelling/valid/einde-detentie.json"),
    ]

    @Test("each partner's generic form of a delivery equals its golden file", arguments: cases)
    func golden(partner: String, example: String) throws {
        let url = packageRoot.appendingPathComponent("Contracts/examples").appendingPathComponent(example)
        let event = try CloudEvent(structured: JSONValue.parse(Data(contentsOf: url)))
        let translator = F.translator(partner)
        #expect(translator.format.mapping(forEvent: event.type.split(separator: ".")[2].description) == nil, "no table: the generic form")
        let rendered = try translator.renderDelivery(event)
        let golden = F.directory.appendingPathComponent("\(partner)/deliveries/\(url.deletingPathExtension().lastPathComponent).\(rendered.fileExtension)")
        if ProcessInfo.processInfo.environment["KETENHUB_RECORD_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(rendered.body.utf8).write(to: golden)
        }
        #expect(rendered.body == (try String(contentsOf: golden, encoding: .utf8)))
        // Every data value of the event is in the generic form.
        func leaves(_ value: JSONValue) -> [String] {
            switch value {
            case .object(let members): members.values.flatMap(leaves)
            case .array(let items): items.flatMap(leaves)
            case .null: []
            default: [value.rendered]
            }
        }
        for leaf in leaves(event.data) { #expect(rendered.body.contains(leaf.replacingOccurrences(of: "&", with: "&amp;")), "\(leaf)") }
    }

    @Test("a delivery of a fact with a table is written with that table, one record")
    func withTable() throws {
        let url = packageRoot.appendingPathComponent("Contracts/examples/gedragsaanwijzing/valid/opgelegd.json")
        let event = try CloudEvent(structured: JSONValue.parse(Data(contentsOf: url)))
        let rendered = try F.translator("om").renderDelivery(event)
        #expect(rendered.contentType == "application/xml")
        let back = try F.translator("om").readDelivery(Array(rendered.body.utf8))
        #expect(back.map(\.id) == [event.id])
        #expect(back.first?.data == event.data)
    }
}
