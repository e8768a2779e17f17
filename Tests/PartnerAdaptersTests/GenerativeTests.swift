import CanonicalEvents
import Foundation
import KetenhubTestSupport
import PartnerAdapters
import Testing

/// Mutated and oversized inputs, generated from the shipped examples with a seeded generator, fed to
/// the XML, JSON and CSV readers and to the contract validator for a bounded time (#13, acceptance 2):
/// the process never crashes, and every input ends in events that meet their contracts or in a
/// refusal whose every problem is short and says something.
@Suite("Generative: mutated and oversized inputs")
struct GenerativeTests {
    typealias F = PartnerFixtures

    /// How long each test generates inputs (seconds); `KETENHUB_FUZZ_SECONDS` for a longer run.
    static let seconds = Double(ProcessInfo.processInfo.environment["KETENHUB_FUZZ_SECONDS"] ?? "") ?? 6
    /// Inputs each test generates at least, however slow the machine: what the counts assert holds
    /// for these (the generator is seeded), and a loaded machine once ran out of time before them.
    /// The generating runs on a thread of its own (`offThePool`): it keeps a core busy for seconds,
    /// which on Swift's pool (one thread per core) held up every other test of the process.
    static let minimum = 200

    /// Fragments that stress the readers: long runs, nesting, control characters, other encodings.
    static func fragment(_ random: inout SeededGenerator, limit: Int) -> [UInt8] {
        let long = Int(random.next() % UInt64(max(1, min(limit, 1 << 20))))
        switch random.next() % 12 {
        case 0: return [UInt8](repeating: UInt8(ascii: "9"), count: long)
        case 1: return Array(String(repeating: "a", count: long).utf8)
        case 2: return Array(String(repeating: "<a>", count: Int(random.next() % 5_000)).utf8)
        case 3: return Array(String(repeating: "[{\"a\":", count: Int(random.next() % 5_000)).utf8)
        case 4: return [UInt8(random.next() % 32)]  // a control character
        case 5: return [0xFE, 0xFF, 0x00, 0x3C]  // a UTF-16 byte-order mark and text
        case 6: return [0xC3, 0x28, 0xED, 0xA0, 0x80]  // invalid UTF-8, an encoded surrogate
        case 7: return Array("\"\";\"\r\n".utf8)  // CSV quoting
        case 8: return Array("<!DOCTYPE x [<!ENTITY e \"e\">]>".utf8)
        case 9: return Array("&#0;&#x1F;&lt;".utf8)
        case 10: return Array("\\u0000\\ud800\\u001b".utf8)
        default: return Array("\u{FEFF}\u{2028}é\u{0301}".utf8)
        }
    }

    static func mutate(_ original: [UInt8], _ random: inout SeededGenerator, limit: Int) -> [UInt8] {
        var bytes = original
        for _ in 0...(random.next() % 3) {
            let at = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
            switch random.next() % 5 {
            case 0: if !bytes.isEmpty { bytes[at] = UInt8(truncatingIfNeeded: random.next()) }
            case 1: bytes.insert(contentsOf: fragment(&random, limit: limit), at: at)
            case 2: bytes.removeSubrange(at..<min(bytes.count, at + Int(random.next() % 64)))
            case 3: bytes = Array(bytes.prefix(at))  // truncated
            default:
                let end = min(bytes.count, at + Int(random.next() % 512))
                bytes.insert(contentsOf: bytes[at..<end], at: end)  // a repeated stretch
            }
        }
        return bytes
    }

    @Test("native messages, mutated: events that meet their contracts, or a refusal with short, clear problems")
    func nativeMessages() async throws {
        let files = F.files("examples") + F.files("invalid")
        let originals = try files.map { ($0.partner, try F.bytes($0.url)) }
        let (counts, failures) = try await offThePool { () -> ([String: Int], [String]) in
            var random = SeededGenerator(state: 20261128)
            let deadline = ContinuousClock.now + .seconds(Self.seconds)
            var (inputs, accepted, refused, large) = (0, 0, 0, 0)
            var failures: [String] = []
            while ContinuousClock.now < deadline || inputs <= Self.minimum {
                let (partner, original) = originals[Int(random.next() % UInt64(originals.count))]
                let format = F.formats.formats[partner]!
                let bytes = Self.mutate(original, &random, limit: format.maxBytes)
                inputs += 1
                if bytes.count > 100_000 { large += 1 }
                let sender = format.organisations.first { !$0.hasSuffix("*") } ?? "vt-amsterdam-amstelland"
                do {
                    let events = try F.translator(partner).translate(bytes, from: partner == "vt" ? nil : sender)
                    accepted += 1
                    for event in events where !ContractCatalogue.embedded.validate(event: event.structured).isEmpty {
                        failures.append("\(partner): an event that does not meet its contract")
                    }
                } catch let error as AdapterRefusal {
                    refused += 1
                    if error.problems.isEmpty { failures.append("\(partner): a refusal without problems") }
                    for problem in error.problems where problem.reason.isEmpty || problem.description.count >= 1_000 {
                        failures.append("\(problem.description.prefix(200))")
                    }
                } catch {
                    failures.append("\(partner): \(error)")  // the translator throws refusals only
                }
            }
            return (["inputs": inputs, "accepted": accepted, "refused": refused, "large": large], failures)
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(counts["inputs"]! > 200 && counts["refused"]! > 0 && counts["large"]! > 0, "\(counts)")
    }

    @Test("the JSON reader agrees with JSONSerialization on what is JSON (beyond its deliberate limits)")
    func jsonAgreement() async throws {
        let originals = try contractExamples("valid").map { Array(try Data(contentsOf: $0.url)) }
        let (counts, failures) = try await offThePool { () -> ([String: Int], [String]) in
            var random = SeededGenerator(state: 1128)
            let deadline = ContinuousClock.now + .seconds(Self.seconds)
            var (compared, valid, deliberate) = (0, 0, 0)
            var failures: [String] = []
            while ContinuousClock.now < deadline || compared <= 5 * Self.minimum {
                var bytes = originals[Int(random.next() % UInt64(originals.count))]
                // Small edits: JSON that is almost right is where readers disagree.
                for _ in 0...(random.next() % 2) {
                    let at = Int(random.next() % UInt64(bytes.count))
                    let replacements: [[UInt8]] = [[], Array(",".utf8), Array("\"".utf8), Array("}".utf8), Array("]".utf8), Array("-0.5e+3".utf8),
                                                   Array("\\u00e9".utf8), Array("\\".utf8), Array("1".utf8), Array("null".utf8), Array(" ".utf8),
                                                   [0x01], [0xC3, 0xA9], Array("tru".utf8), Array("01".utf8), Array("1.".utf8), Array("\\ud800".utf8)]
                    let replacement = replacements[Int(random.next() % UInt64(replacements.count))]
                    let end = min(bytes.count, at + Int(random.next() % 3))
                    bytes.replaceSubrange(at..<end, with: replacement)
                }
                let data = Data(bytes)
                let ours: Bool
                var refusal = ""
                do {
                    _ = try JSONValue.parse(data)
                    ours = true
                } catch {
                    let reason = "\(error)"
                    refusal = reason
                    // Refused on purpose where JSON allows it: a member named twice, lone surrogates.
                    if reason.contains("duplicate member") || reason.contains("surrogate") { deliberate += 1; continue }
                    ours = false
                }
                let theirs = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil
                // Foundation on Linux takes a comma before a closing bracket, which RFC 8259 does not.
                if !ours && theirs, let text = String(bytes: bytes, encoding: .utf8),
                   (try? JSONValue.parse(Data(text.replacingOccurrences(of: #",(\s*[}\]])"#, with: "$1", options: .regularExpression).utf8))) != nil {
                    deliberate += 1
                    continue
                }
                let at = refusal.components(separatedBy: "at byte ").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
                let near = String(decoding: bytes[max(0, at - 40)..<min(bytes.count, at + 20)], as: UTF8.self)
                if ours != theirs { failures.append("ours: \(refusal.isEmpty ? "valid" : refusal); near: \(near.debugDescription)") }
                compared += 1
                if ours { valid += 1 }
            }
            return (["compared": compared, "valid": valid, "deliberate": deliberate], failures)
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(counts["compared"]! > 1_000 && counts["valid"]! > 50 && counts["valid"]! < counts["compared"]!, "\(counts)")
    }

    @Test("the contract validator on mutated events: never crashes, every problem short and without the value")
    func validator() async throws {
        let originals = try contractExamples("valid").map { try JSONValue.parse(Data(contentsOf: $0.url)) }
        let (counts, failures) = try await offThePool { () -> ([String: Int], [String]) in
            var random = SeededGenerator(state: 281126)
            let deadline = ContinuousClock.now + .seconds(Self.seconds)
            var (checked, refused) = (0, 0)
            var failures: [String] = []
            let marker = "ZQXJ"
            func mutated(_ value: JSONValue, depth: Int) -> JSONValue {
                switch value {
                case .string(let text):
                    switch random.next() % 8 {
                    case 0: return .string(marker + String(repeating: "x", count: Int(random.next() % (1 << 20))))
                    case 1: return .string(text + marker + "\u{0000}\u{001B}[2J")
                    case 2: return .string(marker + "\r\n" + text)
                    case 3: return .number(Double(random.next() % 1000))
                    default: return value
                    }
                case .object(let members):
                    var copy = members.mapValues { mutated($0, depth: depth + 1) }
                    if random.next() % 10 == 0 { copy[String(repeating: "k", count: 500) + marker] = .bool(true) }
                    return .object(copy)
                case .array(let items):
                    return .array(items.map { mutated($0, depth: depth + 1) } + (random.next() % 10 == 0 ? [.null] : []))
                default:
                    return random.next() % 10 == 0 ? .string(marker) : value
                }
            }
            while ContinuousClock.now < deadline || checked <= Self.minimum / 2 {
                let event = mutated(originals[Int(random.next() % UInt64(originals.count))], depth: 0)
                let problems = ContractCatalogue.embedded.validate(event: event)
                checked += 1
                if !problems.isEmpty { refused += 1 }
                for problem in problems where problem.description.count >= 500 || problem.reason.contains(marker) {
                    failures.append("\(problem.description.prefix(200))")
                }
            }
            return (["checked": checked, "refused": refused], failures)
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(counts["checked"]! > 100 && counts["refused"]! > 0, "\(counts)")
    }
}
