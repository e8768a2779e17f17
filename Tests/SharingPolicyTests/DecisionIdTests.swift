import CanonicalEvents
import Crypto
import Foundation
import SharingPolicy
import Testing

/// Decision ids are a stored interface: a permit's decision id is its delivery's id, kept in the
/// ledger and in partners' systems, so the same event must get the same ids after any change to
/// how they are computed.
@Suite("Decision ids")
struct DecisionIdTests {
    typealias F = Fixtures

    /// `dec-`, the first 16 bytes of SHA-256 over the parts joined by newlines in hexadecimal, `-`:
    /// computed here the plain way, text first.
    static func prefix(_ parts: [String]) -> String {
        let digest = SHA256.hash(data: Data(parts.joined(separator: "\n").utf8))
        return "dec-" + digest.prefix(16).map { String(format: "%02x", $0) }.joined() + "-"
    }

    @Test("dec-, SHA-256 over chain case, source, id and matrix version (a release's also over its releasing event), and the recipient")
    func derivation() throws {
        let event = F.event("gedragsaanwijzing/valid/opgelegd", case: "KZ-2026-DID001", id: "ga-did-1")
        let caseState = CaseState(caseId: event.ketencaseid)
        let decisions = F.evaluator.evaluate(event, case: caseState, consent: ConsentState())
        #expect(decisions.count == 5)
        let prefix = Self.prefix([event.ketencaseid, event.source, event.id, F.matrix.version])
        for decision in decisions { #expect(decision.decisionId == prefix + decision.recipient) }

        let releasing = F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-DID001", id: "ah-1")
        let released = F.evaluator.evaluate(event, case: caseState, consent: ConsentState(), releasedBy: releasing)
        #expect(released.map(\.recipient) == decisions.map(\.recipient))
        let releasedPrefix = Self.prefix([event.ketencaseid, event.source, event.id, F.matrix.version, "released by", releasing.source, releasing.id])
        for decision in released { #expect(decision.decisionId == releasedPrefix + decision.recipient) }
        #expect(prefix != releasedPrefix)
        #expect(prefix.count == 37)
    }
}
