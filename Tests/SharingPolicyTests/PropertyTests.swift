import CanonicalEvents
import Foundation
import KetenhubTestSupport
import SharingPolicy
import Testing

/// Over generated matrices and event streams: no delivery carries a field its rule does not allow,
/// and every delivery has a permit decision.
@Suite("Routing properties")
struct PropertyTests {
    static let catalogue = ContractCatalogue.embedded
    static let examples: [CloudEvent] = contractExamples("valid").map { example in
        try! CloudEvent(structured: JSONValue.parse(Data(contentsOf: example.url)))
    }

    /// Field pointers a generated rule may list for an event: its data properties, some nested paths, and a few envelope attributes.
    static func fieldPool(_ eventName: String) -> [String] {
        let data = catalogue.schemas.documents["\(eventName).schema.json"]?["$defs"]?["data"]?["properties"]?.objectValue ?? [:]
        var pool = data.keys.sorted().map { "/data/\($0)" }
        pool += ["/data/conditions/*/type", "/data/persons/*/role", "/data/contactPerson/name", "/subject"]
            .filter { catalogue.schemas.declares(path: JSONPointer($0).tokens, in: "\(eventName).schema.json") }
        return pool
    }

    static func randomMatrix(_ random: inout SeededGenerator) -> SharingMatrix {
        let base = Fixtures.matrix
        let events = catalogue.eventNames
        let recipients = ["politie", "om", "vt", "3ro", "rvdk", "shn", "vt-amsterdam-amstelland"]
        let rules = (0..<Int.random(in: 20...120, using: &random)).map { index -> SharingRule in
            let event = events.randomElement(using: &random)!
            let pool = fieldPool(event)
            var conditions = RuleConditions()
            switch Int.random(in: 0..<6, using: &random) {
            case 0: conditions.consent = .victimInformed
            case 1: conditions.consent = .victimShare
            case 2: conditions.caseAttributes["suspectMinor"] = Bool.random(using: &random)
            default: break
            }
            return SharingRule(
                id: "R\(index)", events: [event], producers: Bool.random(using: &random) ? [] : ["politie", "om"],
                recipient: recipients.randomElement(using: &random)!, purpose: "bescherming-slachtoffer", legalBasis: "wjsg-veilig-thuis",
                disclosure: Disclosure.allCases.randomElement(using: &random)!,
                fields: Array(pool.shuffled(using: &random).prefix(Int.random(in: 1...max(1, pool.count), using: &random))),
                conditions: conditions, validFrom: nil, validUntil: nil, justification: nil, region: nil,
                location: SourceLocation(file: "generated", line: index))
        }
        return SharingMatrix(version: "generated-\(random.next() % 1000)", organisations: base.organisations,
                             legalBases: base.legalBases, baseline: rules, regional: [:], notShared: [:])
    }

    /// Every path to a value in `value` (leaves; empty containers carry nothing and are skipped).
    static func leaves(_ value: JSONValue, _ prefix: [String] = []) -> [[String]] {
        switch value {
        case .object(let members): members.flatMap { leaves($0.value, prefix + [$0.key]) }
        case .array(let items): items.enumerated().flatMap { leaves($0.element, prefix + [String($0.offset)]) }
        default: [prefix]
        }
    }

    static func allowed(_ path: [String], by fields: [String]) -> Bool {
        fields.contains { field in
            let tokens = JSONPointer(field).tokens
            guard tokens.count <= path.count else { return false }
            return zip(tokens, path).allSatisfy { $0 == $1 || ($0 == "*" && Int($1) != nil) }
        }
    }

    /// Routes `count` random examples, in `cases` chain cases, through one routing state under
    /// `matrix` (or a random one drawn from `seed`); `body` gets each routed event and its step.
    static func route(seed: UInt64, matrix given: SharingMatrix? = nil, count: Int, cases: Int, name: String,
                      _ body: (CloudEvent, RoutingStep, PolicyEvaluator, SharingMatrix) throws -> Void) rethrows {
        var random = SeededGenerator(state: seed)
        let matrix = given ?? randomMatrix(&random)
        var state = RoutingState()
        let evaluator = PolicyEvaluator(matrix: matrix)
        for index in 0..<count {
            var event = examples.randomElement(using: &random)!
            event.id = "\(name)-\(seed)-\(index)"
            event.ketencaseid = "KZ-2026-\(name.prefix(3).uppercased())\(String(format: "%03d", Int.random(in: 0..<cases, using: &random)))"
            guard let step = state.route(event, with: evaluator) else { continue }
            try body(event, step, evaluator, matrix)
        }
    }

    @Test("no delivery carries a field its rule does not allow; every delivery has a permit decision", arguments: 0..<40)
    func deliveriesStayWithinTheirRules(seed: UInt64) throws {
        var deliveries = 0
        try Self.route(seed: seed, count: 150, cases: 8, name: "gen") { event, step, _, matrix in
            #expect(Set(step.decisions.map(\.recipient)).count == step.decisions.count, "one decision per candidate")
            // Deliveries of this event, and of earlier held ones it released: each has its own permit.
            let decided = step.decisions + step.released.flatMap(\.decisions)
            for (recipient, delivery) in step.deliveries {
                deliveries += 1
                let decision = try #require(decided.first { $0.decisionId == delivery.decisionid })
                #expect(decision.recipient == recipient)
                #expect(decision.outcome == .permit)
                let rule = try #require(matrix.baseline.first { $0.id == decision.ruleId })
                #expect(decision.fields == rule.fields)
                for path in Self.leaves(delivery.data) {
                    #expect(Self.allowed(["data"] + path, by: rule.fields), "\(rule.id) does not allow /data/\(path.joined(separator: "/"))")
                }
                // `partnerref` is the recipient's own reference for the case, never the sender's.
                #expect(delivery.partnerref == step.caseState.references[recipient])
                let envelope = Set(delivery.structured.objectValue!.keys).subtracting(Projection.envelope)
                    .subtracting(["data", "decisionid", "ruleid", "legalbasis", "purpose", "disclosure", "matrixversion", "partnerref"])
                for attribute in envelope {
                    #expect(rule.fields.contains("/\(attribute)"), "\(rule.id) does not allow /\(attribute)")
                }
            }
            for decision in step.decisions where decision.outcome != .permit {
                #expect(!step.deliveries.contains { $0.recipient == decision.recipient && $0.event.id == event.id })
            }
        }
        #expect(deliveries > 0, "the generated matrix delivered something to check")
    }

    @Test("permits of one event listing the same fields disclose the same data: a delivery made with another such permit's data, and its record made with that data's bytes, are those made alone")
    func sharedProjection() throws {
        var (shared, permits) = (0, 0)
        // Random matrices, then the shipped one (whose rules often list the same fields).
        for seed in UInt64(0)..<21 {
            try Self.route(seed: seed, matrix: seed == 20 ? Fixtures.matrix : nil, count: 120, cases: 6, name: "shared") { event, step, evaluator, _ in
                let granted = step.decisions.filter { $0.outcome == .permit }
                permits += granted.count
                for permit in granted {
                    let alone = evaluator.delivery(of: event, for: permit)
                    #expect(evaluator.disclosedData(of: event, for: permit) == alone.data)
                    #expect(alone.kafkaRecord(value: alone.data.encodedBytes()) == alone.kafkaRecord())
                    for other in granted where other.decisionId != permit.decisionId && other.fields == permit.fields {
                        shared += 1
                        #expect(evaluator.delivery(of: event, for: permit, data: evaluator.disclosedData(of: event, for: other)) == alone)
                    }
                }
            }
        }
        #expect(permits > 100 && shared > 0, "\(permits) permits, \(shared) sharing their fields with another")
    }

    @Test("every decision lists its candidate rules once, in rule-id order; a permit names one applied rule, the most disclosing, and the others it outranked")
    func consideredRules() throws {
        var permits = 0, outranked = 0
        for seed in UInt64(0)..<20 {
            try Self.route(seed: seed, count: 120, cases: 6, name: "considered") { _, step, _, matrix in
                let rulesByID = Dictionary(uniqueKeysWithValues: matrix.baseline.map { ($0.id, $0) })
                for decision in step.decisions {
                    let ids = decision.considered.map(\.ruleId)
                    #expect(ids == ids.sorted(), "considered in rule-id order")
                    #expect(Set(ids).count == ids.count, "each rule once")
                    guard decision.outcome == .permit, let chosen = decision.ruleId else {
                        #expect(decision.considered.allSatisfy { !$0.applied })
                        continue
                    }
                    permits += 1
                    #expect(decision.considered.filter(\.applied).map(\.ruleId) == [chosen])
                    let others = decision.considered.filter { $0.reason == "rule \(chosen) discloses more" }
                    outranked += others.count
                    let chosenRule = try #require(rulesByID[chosen])
                    for other in others {
                        let rule = try #require(rulesByID[other.ruleId])
                        // The chosen rule discloses at least as much; on a tie, the lower id is chosen.
                        #expect(rule.disclosure < chosenRule.disclosure || (rule.disclosure == chosenRule.disclosure && chosen < rule.id))
                    }
                }
            }
        }
        #expect(permits > 0, "the generated matrices permitted something to check")
        #expect(outranked > 0, "a permit outranked another rule, to check")
    }
}
