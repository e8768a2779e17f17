import CanonicalEvents
import Foundation
import PartnerAdapters
import Testing

/// Every mapping of every partner, both directions, against golden files: native example ->
/// canonical events (`<example>.canonical.json`) -> native records equal to the example's.
@Suite("Partner formats: golden files")
struct GoldenTests {
    typealias F = PartnerFixtures

    @Test("six partners, at least one XML, JSON and CSV format; the reclassering receives in a format of its own")
    func formats() {
        #expect(Set(F.formats.formats.values.filter { !$0.receiveOnly }.map(\.partner)) == ["politie", "om", "vt", "3ro", "rvdk", "shn"])
        #expect(Set(F.formats.formats.values.map(\.syntax)) == [.xml, .json, .csv])
        #expect(F.formats.format(for: "3ro")?.syntax == .csv && F.formats.deliveryFormat(for: "3ro")?.partner == "3ro-ontvangst")
        #expect(F.formats.deliveryFormat(for: "vt-utrecht")?.partner == "vt")
    }

    @Test("native example -> canonical: exactly the golden events, each valid", arguments: F.files("examples"))
    func inbound(partner: String, url: URL) throws {
        let events = try F.translator(partner).translate(try F.bytes(url))
        let goldenURL = url.deletingPathExtension().appendingPathExtension("canonical.json")
        let golden = try JSONValue.parse(Data(contentsOf: goldenURL))
        #expect(JSONValue.array(events.map(\.structured)) == golden)
        for event in events {
            #expect(ContractCatalogue.embedded.validate(event: event.structured) == [])
            #expect(event.source == "urn:ketenhub:\(event.producer!)")
            #expect(F.formats.formats[partner]!.serves(event.producer!))
        }
    }

    @Test("canonical golden -> native: the same records as the example", arguments: F.files("examples"))
    func outbound(partner: String, url: URL) throws {
        let translator = F.translator(partner)
        let goldenURL = url.deletingPathExtension().appendingPathExtension("canonical.json")
        let golden = try JSONValue.parse(Data(contentsOf: goldenURL))
        let events = try golden.arrayValue!.map { try CloudEvent(structured: $0) }
        // As the partner sends them (a delivery of the same facts may use another table).
        let rendered = try translator.render(events, sender: events.first?.producer ?? "hub")
        let records = NativePath(translator.format.message.records)
        let original = try translator.tree(of: F.bytes(url)).nodes(at: records)
        let back = try translator.tree(of: Array(rendered.utf8)).nodes(at: records)
        #expect(back.count == original.count)
        for (expected, actual) in zip(original, back) { #expect(actual == expected, "\(expected.location)") }
    }

    @Test("every kind of record of every partner has a golden example")
    func coverage() throws {
        for (partner, format) in F.formats.formats {
            let translator = F.translator(partner)
            var seen: Set<String> = []
            for (examplePartner, url) in F.files("examples") where examplePartner == partner {
                let root = try translator.tree(of: F.bytes(url))
                for record in root.nodes(at: NativePath(format.message.records)) {
                    if let kind = record.values(at: NativePath(format.message.kind)).first?.value { seen.insert(kind) }
                }
            }
            #expect(seen == Set(format.kinds.map(\.kind)), "\(partner)")
        }
    }

    @Test("every canonical field a table names exists in its event's schema")
    func tablesNameRealFields() {
        func pointers(_ fields: [FieldMapping], base: [String]) -> [[String]] {
            fields.flatMap { field -> [[String]] in
                let path = base + field.to.split(separator: "/").map(String.init)
                let inner = field.each != nil ? path + ["*"] : path
                return [path] + pointers(field.fields ?? [], base: inner)
            }
        }
        for format in F.formats.formats.values {
            for kind in format.kinds + format.receives {
                for path in pointers(kind.fields, base: []) {
                    #expect(ContractCatalogue.embedded.schemas.declares(path: ["data"] + path, in: "\(kind.event).schema.json"),
                            "\(format.partner) \(kind.kind): /\(path.joined(separator: "/"))")
                }
            }
        }
    }
}
