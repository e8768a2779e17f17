import CanonicalEvents
import Foundation
import KetenhubTestSupport
import SharingPolicy
import Testing
@testable import Router

@Suite("Router state records")
struct StateRecordTests {
    @Test("case and consent state records are written by hand as their contracts say, and read back as they were",
          arguments: [true, false])
    func stateRecords(complete: Bool) throws {
        let contracts = try RecordContracts.load()
        var state = CaseState(caseId: "KZ-2026-ABC123")
        state.routed = ["urn:ketenhub:om\nom-ga-1": "2026-11-20", "urn:ketenhub:politie\npol-1": "2026-11-21", "urn:ketenhub:vt-amsterdam\nvt-\"quoted\"": "2026-11-21"]
        state.victims = ["psn:80948c818127a7f26b8d1542e95d67da", "psn:195f482a0e85834c0d145ee404725469"]
        if complete {
            state.municipality = "GM0363"
            state.suspectMinor = false
        }
        let caseRecord = CaseStateRecord(state: state, source: InputPosition(partition: 2, offset: 12_345_678_901))
        let caseJSON = try JSONValue.parse(Data(caseRecord.json))
        #expect(contracts.validate(caseJSON, against: "case-state.schema.json") == [])
        #expect(try JSONDecoder().decode(CaseStateRecord.self, from: Data(caseRecord.json)) == caseRecord)
        // Sorted keys and sorted sets: the same state is always the same bytes.
        #expect(caseRecord.json == Array(caseJSON.encoded()))
        #expect(caseJSON["state"]?["routed"]?.objectValue?.mapValues { $0.stringValue ?? "" } == state.routed)

        let wish = Informatiewens(wishId: "IW-1", victim: "psn:80948c818127a7f26b8d1542e95d67da", status: .gegeven,
                                  recordedAt: "2026-11-21T12:00:00+01:00", topics: complete ? ["gedragsaanwijzing", "invrijheidstelling"] : nil,
                                  consentToShare: complete ? true : nil)
        let consent = try #require(ConsentRecord(try CloudEvent(id: "shn-iw-1", source: "urn:ketenhub:shn", time: "2026-11-21T12:00:00+01:00",
                                                                ketencaseid: "KZ-2026-ABC123", data: wish)))
        #expect(consent.topics == wish.topics && consent.consentToShare == wish.consentToShare && consent.isGiven)
        let consentRecord = ConsentStateRecord(record: consent, source: InputPosition(partition: 0, offset: 7))
        let consentJSON = try JSONValue.parse(Data(consentRecord.json))
        #expect(contracts.validate(consentJSON, against: "consent-state.schema.json") == [])
        #expect(try JSONDecoder().decode(ConsentStateRecord.self, from: Data(consentRecord.json)) == consentRecord)
        #expect(consentRecord.json == Array(consentJSON.encoded()))
    }
}
