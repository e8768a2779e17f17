import CanonicalEvents
import Foundation
import Router
import Testing

@Suite("Audit chain records")
struct AuditChainTests {
    /// A permit with every optional member, and text that needs escaping.
    static let permit = """
        {"decisionId":"dec-1-politie","eventId":"ev-\\"1\\"","eventSource":"urn:ketenhub:politie","eventType":"nl.ketenhub.politie.aanhouding",
         "ketencaseid":"kc-1","recipient":"politie","outcome":"permit","ruleId":"r-1","legalBasis":"wpg-art-16","purpose":"toezicht",
         "disclosure":"voorwaarden","fields":["/a","/b/c"],"considered":[{"ruleId":"r-0","applied":false,"reason":"regel\\ngeldt niet: é"},
         {"ruleId":"r-1","applied":true}],"matrixVersion":"2026.11-1+abc","decidedAt":"2026-11-23T02:00:00Z","sequence":0,
         "previousHash":"","hash":""}
        """
    /// A deny: no rule, legal basis, purpose or disclosure.
    static let deny = """
        {"decisionId":"dec-1-shn","eventId":"ev-1","eventSource":"urn:ketenhub:politie","eventType":"nl.ketenhub.politie.aanhouding",
         "ketencaseid":"kc-1","recipient":"shn","outcome":"deny","fields":[],"considered":[],"matrixVersion":"2026.11-1+abc",
         "decidedAt":"2026-11-23T02:00:00Z","sequence":0,"previousHash":"","hash":""}
        """

    static func record(_ text: String) throws -> DecisionRecord {
        try JSONDecoder().decode(DecisionRecord.self, from: Data(text.utf8))
    }

    @Test("the bytes written are the record's canonical JSON, with and without its optional members")
    func canonicalBytes() throws {
        var chain = AuditChain()
        for text in [Self.permit, Self.deny] {
            let (linked, bytes) = chain.append(try Self.record(text))
            let written = Data(bytes)
            #expect(written == linked.json.encoded())
            #expect(try JSONValue.parse(written).encoded() == written)
            #expect(try JSONDecoder().decode(DecisionRecord.self, from: written) == linked)
            #expect(linked.computedHash == linked.hash)
        }
        #expect(chain.sequence == 2)
    }

    @Test("records linked through one shared buffer are written and hashed as records linked each on its own")
    func sharedBuffer() throws {
        var (alone, shared) = (AuditChain(), AuditChain())
        // Too small for any record, so that the shared buffer also grows, and the deny, shorter,
        // follows the permit in the same buffer.
        var writer = JSONWriter(capacity: 16)
        for text in [Self.permit, Self.deny, Self.permit, Self.deny] {
            var (first, second) = (try Self.record(text), try Self.record(text))
            let expected = alone.append(&first)
            let written = shared.append(&second, using: &writer)
            #expect(written == expected)
            #expect(second == first)
            #expect(second.computedHash == second.hash)
            #expect(try JSONValue.parse(Data(written)).encoded() == Data(written))
        }
        #expect(shared.head == alone.head && shared.sequence == 4)
    }

    @Test("a chain verifies; an altered, removed or reordered record is found")
    func verification() throws {
        var chain = AuditChain()
        let records = try [Self.permit, Self.deny, Self.permit.replacingOccurrences(of: "dec-1-politie", with: "dec-2-politie")]
            .map { chain.append(try Self.record($0)).record }
        #expect(AuditChainVerifier.verify(partition: 0, records) == [])

        var altered = records
        altered[1].recipient = "om"
        #expect(AuditChainVerifier.verify(partition: 0, altered).map(\.reason) == ["its content does not match its hash (altered)"])

        let removed = [records[0], records[2]]
        #expect(AuditChainVerifier.verify(partition: 0, removed).map(\.reason) ==
                ["expected record 2: a record is missing or out of place", "does not link to the record before it"])

        #expect(AuditChainVerifier.verify(partition: 0, records + [records[1]]) == [], "an identical duplicate is a retried write")
    }
}
