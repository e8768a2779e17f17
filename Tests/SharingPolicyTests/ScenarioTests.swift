import CanonicalEvents
import SharingPolicy
import Testing

/// Scenarios from the domain (../shared/domain.md §3-4): who receives what, field by field.
@Suite("Sharing scenarios")
struct ScenarioTests {
    typealias F = Fixtures

    static func gedragsaanwijzing(_ caseId: String, id: String = "ga-1") -> CloudEvent {
        F.event("gedragsaanwijzing/valid/opgelegd", case: caseId, id: id)
    }

    static func consent(_ caseId: String, id: String = "iw-1", status: String = "gegeven", topics: [String]? = nil, share: Bool = true) -> CloudEvent {
        F.event("informatiewens/valid/gegeven", case: caseId, id: id) { data in
            data["status"] = .string(status)
            data["consentToShare"] = .bool(share)
            if let topics { data["topics"] = .array(topics.map(JSONValue.string)) }
        }
    }

    static let gaFieldsPolitie: Set<String> = ["orderId", "action", "version", "suspect", "protectedPersons", "conditions", "startDate", "endDate", "contactPerson"]
    static let gaFieldsSHN: Set<String> = ["orderId", "action", "protectedPersons", "conditions", "startDate", "endDate", "contactPerson"]

    @Test("1. a gedragsaanwijzing reaches politie with its conditions, for enforcement")
    func gedragsaanwijzingToPolitie() throws {
        let timeline = Timeline()
        let step = try #require(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN001")))
        #expect(step.fields(of: "politie") == Self.gaFieldsPolitie)
        #expect(step.decision(for: "politie")?.ruleId == "GA-POL")
        #expect(step.decision(for: "politie")?.legalBasis == "wjsg-politie")
        #expect(step.decision(for: "politie")?.legalBasisConfirmed == false, "every basis awaits its partner's confirmation")
        let conditions = step.deliveries.first { $0.recipient == "politie" }!.event.data["conditions"]
        #expect(conditions == step.event.data["conditions"])
    }

    @Test("2. SHN receives a gedragsaanwijzing only when the victim asked to be informed")
    func gedragsaanwijzingToSHNWithWish() throws {
        let timeline = Timeline()
        #expect(timeline.route(Self.consent("KZ-2026-SCN002")) != nil)
        let step = try #require(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN002")))
        #expect(step.recipients == ["politie", "shn"])
        #expect(step.held == ["3ro", "rvdk", "vt"], "no age and no address known yet: held, not guessed")
        #expect(step.decision(for: "shn")?.consent?.map(\.eventId) == ["iw-1"], "the decision names the consent it rests on")
        #expect(step.fields(of: "shn") == Self.gaFieldsSHN)
        #expect(!step.fields(of: "shn").contains("suspect"))
    }

    @Test("3. without the victim's wish SHN is denied, with the reason recorded")
    func gedragsaanwijzingWithoutWish() throws {
        let timeline = Timeline()
        let step = try #require(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN003")))
        #expect(step.recipients == ["politie"])
        let shn = try #require(step.decision(for: "shn"))
        #expect(shn.outcome == .deny)
        #expect(shn.considered == [Decision.Consideration(ruleId: "GA-SHN", applied: false, reason: "no victim this event concerns has given consent (never given)")])
    }

    @Test("4. a withdrawal applies to every event routed after it")
    func withdrawal() throws {
        let timeline = Timeline()
        _ = timeline.route(Self.consent("KZ-2026-SCN004"))
        #expect(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN004", id: "ga-a"))?.recipients.contains("shn") == true)
        _ = timeline.route(Self.consent("KZ-2026-SCN004", id: "iw-2", status: "ingetrokken", topics: ["gedragsaanwijzing"]))
        #expect(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN004", id: "ga-b"))?.recipients == ["politie"])
    }

    @Test("5. a wish about other topics does not open the gedragsaanwijzing to SHN")
    func wishOtherTopics() throws {
        let timeline = Timeline()
        _ = timeline.route(Self.consent("KZ-2026-SCN005", topics: ["vonnis"]))
        let step = timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN005"))
        #expect(step?.recipients == ["politie"])
        #expect(step?.decision(for: "shn")?.considered.first?.reason == "the victim's informatiewens does not ask to be informed of gedragsaanwijzing")
    }

    @Test("6. reclasseringsadvies content reaches VT on the suspect's recorded consent, which the decision names")
    func adviceWithConsent() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-SCN006"))
        _ = timeline.route(F.event("toestemming/valid/gegeven", case: "KZ-2026-SCN006"))
        let step = try #require(timeline.route(F.event("reclasseringsadvies/valid/vroeghulp", case: "KZ-2026-SCN006")))
        #expect(step.recipients == ["om-amsterdam", "vt-amsterdam-amstelland"])
        #expect(step.decision(for: "vt-amsterdam-amstelland")?.ruleId == "ADV-VT-INHOUD")
        #expect(step.fields(of: "vt-amsterdam-amstelland") == ["adviceId", "deliveredAt", "adviceKind", "riskAssessment", "recommendation", "proposedConditions", "contactPerson"])
        #expect(step.fields(of: "om-amsterdam") == ["adviceId", "deliveredAt", "suspect", "adviceKind", "riskAssessment", "recommendation", "proposedConditions", "contactPerson"])
        let evidence = try #require(step.decision(for: "vt-amsterdam-amstelland")?.consent?.first)
        #expect(evidence == ConsentEvidence(person: F.event("toestemming/valid/gegeven", case: "KZ-2026-SCN006").data["person"]!.stringValue!,
                                            kind: "toestemming", eventId: "3ro-tst-2026-0412", recordedAt: "2026-11-21T05:30:00+01:00",
                                            recordedBy: "3ro", status: "gegeven", scope: ["reclasseringsadvies:vt"]))
        // Withdrawn: the next advice goes to VT as dat-informatie again, and VT learns of the withdrawal.
        let withdrawal = try #require(timeline.route(F.event("toestemming/valid/ingetrokken", case: "KZ-2026-SCN006")))
        #expect(withdrawal.recipients == ["vt-amsterdam-amstelland"])
        #expect(withdrawal.decision(for: "vt-amsterdam-amstelland")?.ruleId == "TST-VT-INTREKKING")
        let next = try #require(timeline.route(F.event("reclasseringsadvies/valid/vroeghulp", case: "KZ-2026-SCN006", id: "3ro-adv-2")))
        #expect(next.decision(for: "vt-amsterdam-amstelland")?.ruleId == "ADV-VT-DAT")
    }

    @Test("6b. the advice's own flag is not consent: without a recorded toestemming VT learns only that it exists")
    func adviceFlagIsNoConsent() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-SCN106"))
        let step = try #require(timeline.route(F.event("reclasseringsadvies/valid/vroeghulp", case: "KZ-2026-SCN106") { $0["suspectConsentToShare"] = .bool(true) }))
        #expect(step.decision(for: "vt-amsterdam-amstelland")?.ruleId == "ADV-VT-DAT")
        #expect(step.decision(for: "vt-amsterdam-amstelland")?.considered.first { $0.ruleId == "ADV-VT-INHOUD" }?.reason
                == "no suspect this event concerns has given consent (never given)")
    }

    @Test("7. without that consent VT still learns that the advice exists, and whom to call")
    func adviceWithoutConsent() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-SCN007"))
        let step = try #require(timeline.route(F.event("reclasseringsadvies/valid/vroeghulp", case: "KZ-2026-SCN007") { $0["suspectConsentToShare"] = .bool(false) }))
        #expect(step.decision(for: "vt-amsterdam-amstelland")?.ruleId == "ADV-VT-DAT")
        #expect(step.decision(for: "vt-amsterdam-amstelland")?.disclosure == .dat)
        #expect(step.fields(of: "vt-amsterdam-amstelland") == ["adviceId", "deliveredAt", "adviceKind", "contactPerson"])
    }

    @Test("8. a minor suspect's arrest goes to the RvdK, not the reclassering")
    func minorArrest() throws {
        let timeline = Timeline()
        let step = try #require(timeline.route(F.event("aanhouding/valid/minderjarige-verdachte", case: "KZ-2026-SCN008")))
        #expect(step.recipients == ["om-rotterdam", "vt-rotterdam-rijnmond", "rvdk-zuidwest-nederland"])
        #expect(step.decision(for: "3ro")?.outcome == .deny)
        #expect(step.fields(of: "rvdk-zuidwest-nederland") == ["arrestId", "arrestedAt", "suspect"])
    }

    @Test("9. an adult suspect's arrest goes to the reclassering as dat-informatie")
    func adultArrest() throws {
        let timeline = Timeline()
        let step = try #require(timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-SCN009") { $0["childrenInvolved"] = .bool(false) }))
        #expect(step.recipients == ["om-amsterdam", "vt-amsterdam-amstelland", "3ro"])
        #expect(step.fields(of: "3ro") == ["arrestId", "arrestedAt", "suspect", "offence", "contactPerson"])
        #expect(step.fields(of: "om-amsterdam") == ["arrestId", "arrestedAt", "suspect", "suspectMinor", "childrenInvolved", "municipalityCode", "offence", "contactPerson"])
    }

    @Test("10. later decisions in a minor's case go to the RvdK as well")
    func minorCaseLater() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("aanhouding/valid/minderjarige-verdachte", case: "KZ-2026-SCN010"))
        let step = try #require(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN010")))
        #expect(step.recipients == ["politie-rotterdam", "vt-rotterdam-rijnmond", "rvdk-zuidwest-nederland"])
        #expect(step.fields(of: "rvdk-zuidwest-nederland") == Self.gaFieldsPolitie)
    }

    @Test("11. an adult's arrest with children in the family also reaches the RvdK")
    func childrenInvolved() throws {
        let timeline = Timeline()
        let step = try #require(timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-SCN011")))
        #expect(step.recipients == ["om-amsterdam", "vt-amsterdam-amstelland", "3ro", "rvdk-noordwest-nederland"])
        #expect(step.decision(for: "rvdk-noordwest-nederland")?.ruleId == "AANH-RVDK-KINDEREN")
    }

    @Test("12. a VT-melding reaches the Veilig Thuis of the address, and no one else")
    func vtMelding() throws {
        let timeline = Timeline()
        let step = try #require(timeline.route(F.event("vt-melding/valid/melding-met-kind", case: "KZ-2026-SCN012")))
        #expect(step.recipients == ["vt-amsterdam-amstelland"])
        #expect(step.fields(of: "vt-amsterdam-amstelland") == ["meldingId", "registeredAt", "municipalityCode", "concerns", "persons", "childrenPresent", "summary", "contactPerson"])
        #expect(Set(step.decisions.filter { $0.outcome == .deny }.map(\.recipient)) == ["om-amsterdam", "3ro", "rvdk-noordwest-nederland", "shn"])
    }

    @Test("13. a VT-melding from a municipality the table does not know reaches nobody: VT's delivery is held")
    func unknownRegion() throws {
        let timeline = Timeline()
        let step = try #require(timeline.route(F.event("vt-melding/valid/minimaal", case: "KZ-2026-SCN013") { $0["municipalityCode"] = .string("GM9999") }))
        #expect(step.deliveries.isEmpty)
        #expect(step.decision(for: "vt")?.outcome == .hold, "held and alerted, not silently denied")
        #expect(step.decision(for: "vt")?.reason == "waits for the victim's address: no Veilig Thuis organisation is known for this case")
        #expect(step.decision(for: "vt")?.caseFacts?["region"] == "unknown")
        #expect(step.decision(for: "vt")?.considered.map(\.ruleId).isEmpty == false, "the rules waiting for the region are named")
        #expect(step.decision(for: "vt")?.considered.allSatisfy { !$0.applied && $0.reason == step.decision(for: "vt")?.reason } == true)
    }

    @Test("14. the case's region, learnt earlier, routes a later event to its Veilig Thuis")
    func regionFromEarlierEvent() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("vt-melding/valid/minimaal", case: "KZ-2026-SCN014"))
        let step = try #require(timeline.route(F.event("zsm-beslissing/valid/voorwaardelijk-sepot", case: "KZ-2026-SCN014")))
        #expect(step.recipients == ["politie-rotterdam", "vt-rotterdam-rijnmond"])
        #expect(step.held == ["3ro", "rvdk-zuidwest-nederland"])
        #expect(step.decision(for: "vt-rotterdam-rijnmond")?.region == "GM0599, from the household's address (vt-melding \(F.event("vt-melding/valid/minimaal", case: "KZ-2026-SCN014").id))")
        #expect(step.fields(of: "vt-rotterdam-rijnmond") == ["decisionId", "decidedAt", "custody", "outcome", "sepotKind", "conditions"])
    }

    @Test("15. an aangifte of belaging: content to the OM, dat-informatie to VT, to SHN only the victim and only if she asked to be referred")
    func aangifte() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("vt-melding/valid/melding-met-kind", case: "KZ-2026-SCN015"))
        let unreferred = try #require(timeline.route(F.event("melding/valid/aangifte-belaging", case: "KZ-2026-SCN015", id: "mld-a")))
        #expect(unreferred.recipients == ["om-amsterdam", "vt-amsterdam-amstelland"])
        let step = try #require(timeline.route(F.event("melding/valid/aangifte-belaging", case: "KZ-2026-SCN015") { $0["victimReferral"] = .bool(true) }))
        #expect(step.recipients == ["om-amsterdam", "vt-amsterdam-amstelland", "shn"])
        #expect(step.fields(of: "vt-amsterdam-amstelland") == ["registrationId", "kind", "reportedAt", "contactPerson"])
        #expect(step.fields(of: "shn") == ["registrationId", "kind", "offence", "reportedAt", "persons", "contactPerson"])
        let persons = step.deliveries.first { $0.recipient == "shn" }?.event.data["persons"]?.arrayValue ?? []
        #expect(!persons.isEmpty && persons.allSatisfy { $0["role"] == .string("slachtoffer") }, "the victim, not the suspect")
        #expect(step.decision(for: "shn")?.disclosedPersons == persons.compactMap { $0["id"]?.stringValue }.sorted())
        #expect(step.fields(of: "om-amsterdam") == ["registrationId", "kind", "offence", "offenceCode", "reportedAt", "complaintFiled", "persons", "contactPerson"])
    }

    @Test("16. a melding that is no aangifte does not go to SHN")
    func meldingNotAangifte() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("vt-melding/valid/minimaal", case: "KZ-2026-SCN016"))
        let step = try #require(timeline.route(F.event("melding/valid/melding-bedreiging", case: "KZ-2026-SCN016")))
        #expect(step.recipients == ["om-rotterdam", "vt-rotterdam-rijnmond"])
        #expect(step.decision(for: "shn")?.considered.first?.reason == "event field /data/kind is not aangifte")
    }

    @Test("17. an event no rule permits reaches nobody: an acknowledgement")
    func acknowledgementReachesNobody() throws {
        let timeline = Timeline()
        let step = try #require(timeline.route(F.event("acknowledgement/valid/verwerkt", case: "KZ-2026-SCN017")))
        #expect(step.deliveries.isEmpty)
        #expect(step.decisions.allSatisfy { $0.outcome == .deny })
        #expect(Set(step.decisions.map(\.recipient)) == ["politie", "om", "vt", "3ro", "rvdk"])
    }

    @Test("18. an event from a producer no rule names reaches nobody")
    func wrongProducer() throws {
        let timeline = Timeline()
        var event = F.event("raadsonderzoek/valid/beschermingsonderzoek", case: "KZ-2026-SCN018")
        event.source = "urn:ketenhub:shn"
        let step = try #require(timeline.route(event))
        #expect(step.deliveries.isEmpty)
        #expect(step.decision(for: "politie")?.considered == [Decision.Consideration(ruleId: "RO-POL", applied: false, reason: "producer shn is not one of rvdk")])
    }

    @Test("19. a release reaches politie and VT regardless of consent; SHN only on the victim's wish")
    func release() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("vt-melding/valid/melding-met-kind", case: "KZ-2026-SCN019"))
        let withoutWish = try #require(timeline.route(F.event("invrijheidstelling/valid/einde-detentie", case: "KZ-2026-SCN019", id: "ivs-a")))
        #expect(withoutWish.recipients == ["politie-amsterdam", "vt-amsterdam-amstelland", "3ro"])
        _ = timeline.route(Self.consent("KZ-2026-SCN019"))
        let withWish = try #require(timeline.route(F.event("invrijheidstelling/valid/einde-detentie", case: "KZ-2026-SCN019", id: "ivs-b")))
        #expect(withWish.recipients == ["politie-amsterdam", "vt-amsterdam-amstelland", "3ro", "shn"])
        #expect(withWish.fields(of: "shn") == ["releaseId", "releaseAt", "kind", "conditions", "contactPerson"])
        #expect(withWish.fields(of: "politie-amsterdam") == ["releaseId", "releaseAt", "suspect", "kind", "conditions", "contactPerson"])
        #expect(withWish.decision(for: "shn")?.legalBasis == "sv-51ab-slachtoffer")
    }

    @Test("20. schorsing conditions reach politie, reclassering and VT; the victim's copy leaves out the suspect")
    func schorsing() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("vt-melding/valid/melding-met-kind", case: "KZ-2026-SCN020"))
        _ = timeline.route(Self.consent("KZ-2026-SCN020"))
        let step = try #require(timeline.route(F.event("schorsing/valid/met-enkelband", case: "KZ-2026-SCN020")))
        #expect(step.recipients == ["politie-amsterdam", "vt-amsterdam-amstelland", "3ro", "shn"])
        let full: Set<String> = ["suspensionId", "decidedAt", "court", "suspect", "conditions", "startDate", "electronicMonitoring", "contactPerson"]
        #expect(step.fields(of: "politie-amsterdam") == full)
        #expect(step.fields(of: "3ro") == full)
        #expect(step.fields(of: "shn") == ["suspensionId", "decidedAt", "conditions", "startDate", "electronicMonitoring", "contactPerson"])
    }

    @Test("21. a verdict: the sentence to the reclassering, the conditions to politie")
    func verdict() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-SCN021"))
        let step = try #require(timeline.route(F.event("vonnis/valid/veroordeling-met-voorwaarden", case: "KZ-2026-SCN021")))
        #expect(step.recipients == ["politie-amsterdam", "3ro", "vt-amsterdam-amstelland"])
        #expect(step.fields(of: "3ro").contains("sentence"))
        #expect(step.fields(of: "politie-amsterdam") == ["verdictId", "pronouncedOn", "court", "suspect", "outcome", "bijzondereVoorwaarden", "electronicMonitoring", "dadelijkUitvoerbaar", "contactPerson"])
        #expect(step.decision(for: "politie-amsterdam")?.disclosure == .voorwaarden)
    }

    @Test("22. the victim's wish reaches VT only with consent to share; its withdrawal reaches VT because VT received under it")
    func wishToVT() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("vt-melding/valid/melding-met-kind", case: "KZ-2026-SCN022"))
        let given = try #require(timeline.route(Self.consent("KZ-2026-SCN022")))
        #expect(given.recipients == ["om-amsterdam", "politie-amsterdam", "vt-amsterdam-amstelland"])
        #expect(given.fields(of: "vt-amsterdam-amstelland") == ["wishId", "victim", "status", "recordedAt", "topics", "contactPerson"])
        let withdrawn = try #require(timeline.route(Self.consent("KZ-2026-SCN022", id: "iw-2", status: "ingetrokken", topics: ["vonnis"], share: false)))
        #expect(withdrawn.recipients == ["om-amsterdam", "politie-amsterdam", "vt-amsterdam-amstelland"])
        #expect(withdrawn.decision(for: "vt-amsterdam-amstelland")?.ruleId == "IW-VT-INTREKKING")
        #expect(withdrawn.fields(of: "vt-amsterdam-amstelland") == ["wishId", "status", "recordedAt", "contactPerson"])
        #expect(withdrawn.decision(for: "vt-amsterdam-amstelland")?.consent?.first?.withdrawn == true)
        #expect(withdrawn.decision(for: "vt-amsterdam-amstelland")?.considered.first { $0.ruleId == "IW-VT" }?.reason?
                    .hasPrefix("the victim's consent was withdrawn (recorded ") == true)
        // Once told, VT received nothing more under it: a second withdrawal does not reach it.
        let again = try #require(timeline.route(Self.consent("KZ-2026-SCN022", id: "iw-3", status: "ingetrokken", topics: ["vonnis"], share: false)))
        #expect(again.recipients == ["om-amsterdam", "politie-amsterdam"])
    }

    @Test("23. a trajectory is dat-informatie for the partners on the case; its producer is not a candidate")
    func trajectory() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("vt-melding/valid/melding-met-kind", case: "KZ-2026-SCN023"))
        let step = try #require(timeline.route(F.event("traject/valid/toezicht-gestart", case: "KZ-2026-SCN023")))
        #expect(step.recipients == ["politie-amsterdam", "om-amsterdam", "vt-amsterdam-amstelland"])
        #expect(step.decision(for: "rvdk-noordwest-nederland")?.outcome == .deny, "a supervision trajectory of an adult: not the RvdK's, children or not")
        #expect(step.decision(for: "3ro") == nil)
        #expect(step.fields(of: "om-amsterdam") == ["trajectoryId", "status", "organisation", "trajectoryType", "startDate", "contactPerson"])
        #expect(step.decision(for: "shn")?.outcome == .deny)
    }

    @Test("29. consent goes by the time it was recorded: a wish recorded before a withdrawal and sent after it does not revive consent (#13 item 4)")
    func consentByRecordedTime() throws {
        let timeline = Timeline()
        _ = timeline.route(Self.consent("KZ-2026-SCN029", id: "iw-1"))
        _ = timeline.route(F.event("informatiewens/valid/gegeven", case: "KZ-2026-SCN029", id: "iw-2") { data in
            data["status"] = .string("ingetrokken")
            data["recordedAt"] = .string("2026-11-22T12:00:00Z")
        })
        let late = F.event("informatiewens/valid/gegeven", case: "KZ-2026-SCN029", id: "iw-3") { data in
            data["topics"] = .array([.string("gedragsaanwijzing")])
            data["recordedAt"] = .string("2026-11-20T12:00:00Z")  // older than the withdrawal, arriving after it
        }
        _ = timeline.route(late)
        #expect(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN029", id: "ga-a"))?.recipients == ["politie"])
        #expect(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN029", id: "ga-a"))?.decision(for: "shn") == nil, "routed once")
        // A wish recorded after the withdrawal does give consent again; one at the same moment does not.
        _ = timeline.route(F.event("informatiewens/valid/gegeven", case: "KZ-2026-SCN029", id: "iw-4") { data in
            data["topics"] = .array([.string("gedragsaanwijzing")])
            data["recordedAt"] = .string("2026-11-22T12:00:00Z")
        })
        #expect(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN029", id: "ga-b"))?.recipients.contains("shn") == false, "a tie: the withdrawal wins")
        _ = timeline.route(F.event("informatiewens/valid/gegeven", case: "KZ-2026-SCN029", id: "iw-5") { data in
            data["topics"] = .array([.string("gedragsaanwijzing")])
            data["recordedAt"] = .string("2026-11-23T12:00:00Z")
        })
        #expect(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN029", id: "ga-c"))?.recipients.contains("shn") == true)
    }

    @Test("29b. a withdrawal whose time is written as RFC 3339 also allows (lower-case t and z, a ten-digit fraction) withdraws: consent never fails open")
    func withdrawalInEveryRFC3339Form() throws {
        for (index, recordedAt) in ["2026-11-22t12:00:00z", "2026-11-22T12:00:00.1234567890+01:00"].enumerated() {
            let timeline = Timeline()
            let caseId = "KZ-2026-SCW00\(index)"
            _ = timeline.route(Self.consent(caseId, id: "iw-1", topics: ["gedragsaanwijzing"]))
            #expect(timeline.route(Self.gedragsaanwijzing(caseId, id: "ga-a"))?.recipients.contains("shn") == true, "\(recordedAt)")
            _ = timeline.route(F.event("informatiewens/valid/gegeven", case: caseId, id: "iw-2") { data in
                data["status"] = .string("ingetrokken")
                data["recordedAt"] = .string(recordedAt)
            })
            #expect(timeline.route(Self.gedragsaanwijzing(caseId, id: "ga-b"))?.recipients.contains("shn") == false, "\(recordedAt)")
        }
    }

    @Test("30. consent belongs to the person in the chain case the informatiewens names, not wherever else an event names them (#13 item 4)")
    func consentPerCase() throws {
        let timeline = Timeline()
        _ = timeline.route(Self.consent("KZ-2026-SCN030", topics: ["gedragsaanwijzing"]))
        #expect(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN030"))?.recipients.contains("shn") == true)
        // The same victim named in another case: her wish there was never recorded.
        #expect(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN031"))?.recipients == ["politie"])
    }

    @Test("31. nothing of a minor suspect's case reaches the reclassering: not the RvdK's trajectory, not a contact person (#13 item 10)")
    func minorNothingTo3RO() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("aanhouding/valid/minderjarige-verdachte", case: "KZ-2026-SCN032"))
        var youthSupervision = F.event("traject/valid/toezicht-gestart", case: "KZ-2026-SCN032") { data in
            data["organisation"] = .string("rvdk")
        }
        youthSupervision.source = "urn:ketenhub:rvdk"
        let trajectory = try #require(timeline.route(youthSupervision))
        #expect(trajectory.decision(for: "3ro")?.outcome == .deny)
        #expect(trajectory.decision(for: "3ro")?.considered.first { $0.ruleId == "TRJ-3RO" }?.reason == "case attribute suspectMinor is true, not false")
        let contact = try #require(timeline.route(F.event("contactpersoon/valid/casusregisseur", case: "KZ-2026-SCN032")))
        #expect(contact.decision(for: "3ro")?.outcome == .deny)
        #expect(!contact.recipients.contains("3ro"))
    }

    @Test("24. VT's safety assessment: content to the OM, the conditions to politie")
    func assessment() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-SCN024"))
        let step = try #require(timeline.route(F.event("veiligheidsbeoordeling/valid/acuut-onveilig", case: "KZ-2026-SCN024")))
        #expect(step.recipients == ["politie-amsterdam", "om-amsterdam", "3ro", "rvdk-noordwest-nederland"], "children are involved: the RvdK as well")
        #expect(step.decision(for: "rvdk-noordwest-nederland")?.ruleId == "VB-RVDK-KINDEREN")
        #expect(step.fields(of: "om-amsterdam") == ["assessmentId", "version", "assessedAt", "outcome", "veiligheidsvoorwaarden", "advice", "contactPerson"])
        #expect(step.fields(of: "politie-amsterdam") == ["assessmentId", "version", "assessedAt", "outcome", "veiligheidsvoorwaarden", "contactPerson"])
    }

    @Test("25. a regional rule: the tijdelijk huisverbod reaches the reclassering in Amsterdam-Amstelland only")
    func regionalRule() throws {
        let amsterdam = Timeline()
        _ = amsterdam.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-SCN025"))
        let inAmsterdam = try #require(amsterdam.route(F.event("tijdelijk-huisverbod/valid/opgelegd", case: "KZ-2026-SCN025")))
        #expect(inAmsterdam.recipients == ["om-amsterdam", "vt-amsterdam-amstelland", "3ro"])
        #expect(inAmsterdam.decision(for: "3ro")?.ruleId == "AA-THV-3RO")
        #expect(inAmsterdam.fields(of: "3ro") == ["orderId", "imposedAt", "endsAt", "contactPerson"])
        let rotterdam = Timeline()
        let inRotterdam = try #require(rotterdam.route(F.event("tijdelijk-huisverbod/valid/opgelegd", case: "KZ-2026-SCN026") { $0["municipalityCode"] = .string("GM0599") }))
        #expect(inRotterdam.recipients == ["om-rotterdam", "vt-rotterdam-rijnmond"])
    }

    @Test("26. a regional rule past its validity no longer applies")
    func validity() throws {
        let timeline = Timeline()
        let late = try #require(timeline.route(F.event("tijdelijk-huisverbod/valid/opgelegd", case: "KZ-2026-SCN027", time: "2028-01-05T10:00:00Z")))
        #expect(late.recipients == ["om-amsterdam", "vt-amsterdam-amstelland"])
        #expect(late.decision(for: "3ro")?.considered == [Decision.Consideration(ruleId: "AA-THV-3RO", applied: false, reason: "not valid after 2027-12-31")])
    }

    @Test("a case that keeps getting events nobody can decide holds at most its budget; past it a delivery is denied, saying why (#14)")
    func heldBudget() throws {
        let timeline = Timeline()
        var denied: Decision?
        var number = 0
        while denied == nil && number < 2_000 {
            number += 1
            let step = try #require(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN040", id: "ga-\(number)")))
            #expect(step.recipients == ["politie"], "the police have every one of them")
            denied = step.decisions.first { $0.recipient == "3ro" && $0.outcome == .deny }
        }
        let state = try #require(timeline.state.cases["KZ-2026-SCN040"])
        #expect(number > 100 && state.held.count == number - 1, "every earlier one held")
        #expect(state.held.reduce(0) { $0 + $1.size } <= CaseState.heldBudgetBytes)
        #expect(denied?.reason?.hasSuffix("not held: this case already holds \(state.held.reduce(0) { $0 + $1.size } / 1024) KiB of events waiting (at most 256 KiB), so a partner must first state what they wait for") == true)
        // Stating the age releases what was kept, once.
        let arrest = try #require(timeline.route(F.event("aanhouding/valid/na-overtreding", case: "KZ-2026-SCN040")))
        #expect(arrest.released.flatMap(\.decisions).filter { $0.recipient == "3ro" && $0.outcome == .permit }.count == number - 1)
        #expect(timeline.state.cases["KZ-2026-SCN040"]?.held.isEmpty == true)
    }

    @Test("27. the same event published twice is routed once")
    func duplicate() throws {
        let timeline = Timeline()
        let event = Self.gedragsaanwijzing("KZ-2026-SCN028")
        #expect(timeline.route(event) != nil)
        #expect(timeline.route(event) == nil)
    }

    @Test("28. a breach the reclassering sees reaches the OM; the police and VT only when the condition protects the victim")
    func breachByReclassering() throws {
        let timeline = Timeline()
        _ = timeline.route(F.event("vt-melding/valid/melding-met-kind", case: "KZ-2026-4F7Q2A"))
        let meldplicht = try #require(timeline.route(F.event("overtreding-voorwaarde/valid/meldplicht-reclassering", case: "KZ-2026-4F7Q2A")))
        #expect(meldplicht.recipients == ["om-amsterdam"])
        #expect(meldplicht.decision(for: "politie-amsterdam")?.considered.first?.reason?.hasPrefix("event field /data/breachedCondition/conditionType is not one of ") == true)
        let step = try #require(timeline.route(F.event("overtreding-voorwaarde/valid/meldplicht-reclassering", case: "KZ-2026-4F7Q2A", id: "ovt-contact") { data in
            guard case .object(var condition)? = data["breachedCondition"] else { return }
            condition["conditionType"] = .string("contactverbod")
            data["breachedCondition"] = .object(condition)
        }))
        #expect(step.recipients == ["politie-amsterdam", "om-amsterdam", "vt-amsterdam-amstelland"])
        #expect(step.fields(of: "vt-amsterdam-amstelland") == ["breachId", "observedAt", "breachedCondition", "contactPerson"])
        #expect(step.fields(of: "politie-amsterdam") == ["breachId", "observedAt", "suspect", "breachedCondition", "description", "contactPerson"])
    }

    @Test("every delivery carries the routing extensions and only the envelope it must")
    func deliveryEnvelope() throws {
        let timeline = Timeline()
        let step = try #require(timeline.route(Self.gedragsaanwijzing("KZ-2026-SCN029")))
        let delivery = try #require(step.deliveries.first { $0.recipient == "politie" }?.event)
        let decision = try #require(step.decision(for: "politie"))
        #expect(delivery.decisionid == decision.decisionId)
        #expect(delivery.ruleid == "GA-POL")
        #expect(delivery.legalbasis == "wjsg-politie")
        #expect(delivery.purpose == "handhaving")
        #expect(delivery.disclosure == "voorwaarden")
        #expect(delivery.matrixversion == Fixtures.matrix.version)
        #expect(delivery.partnerref == nil)
        #expect(delivery.subject == nil)
        #expect(delivery.id == step.event.id)
        #expect(delivery.ketencaseid == "KZ-2026-SCN029")
    }
}
