import Foundation
import KetenhubTestSupport
import Testing

/// The `ketenhub` command as a user runs it.
@Suite("ketenhub command")
struct CommandTests {
    @Test("--version prints the version")
    func version() async throws {
        let (status, output, _) = try await runKetenhub(["--version"])
        #expect(status == 0)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test("bench kafka --json ends with one JSON object carrying both rates, every record consumed once")
    func benchKafka() async throws {
        let (status, output, _) = try await runKetenhub(["bench", "kafka", "--json", "--messages", "3000"])
        #expect(status == 0)
        let lastLine = try #require(output.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        #expect(result["messages"] as? Int == 3000)
        #expect(result["record_bytes"] as? Int == 300)
        let produce = try #require(result["produce_msgs_per_s"] as? Double)
        let consume = try #require(result["consume_msgs_per_s"] as? Double)
        #expect(produce > 0 && consume > 0)
        // The same work on librdkafka's C API, and the client's ratios to it.
        let baselineProduce = try #require(result["librdkafka_produce_msgs_per_s"] as? Double)
        let baselineConsume = try #require(result["librdkafka_consume_msgs_per_s"] as? Double)
        #expect(baselineProduce > 0 && baselineConsume > 0)
        #expect(abs((result["produce_ratio_to_librdkafka"] as? Double ?? -1) - produce / baselineProduce) <= 0.006)
        #expect(abs((result["consume_ratio_to_librdkafka"] as? Double ?? -1) - consume / baselineConsume) <= 0.006)
    }

    @Test("bench router refuses figures it cannot measure with before it starts, naming the option (no events: no first batch to time from)")
    func benchRouterOptions() async throws {
        for (option, value, message) in [("--events", "0", "--events must be at least 1"), ("--batch-size", "0", "--batch-size must be at least 1"),
                                         ("--rounds", "0", "--rounds must be at least 1"), ("--latency-seconds", "0", "--latency-seconds must be more than 0"),
                                         ("--memory-events", "0", "--memory-events must each be at least 1")] {
            let (status, _, errors) = try await runKetenhub(["bench", "router", option, value])
            #expect(status == 64, "\(option) \(value)")
            #expect(errors.contains(message), "\(errors)")
        }
    }

    @Test("bench router given more events than the embedded cluster keeps stops with an error naming what it kept, instead of waiting for ever for the dropped ones",
          .timeLimit(.minutes(3)))
    func benchRouterTooManyEvents() async throws {
        let (status, output, errors) = try await runKetenhub(["bench", "router", "--json", "--events", "60000", "--rounds", "1"])
        #expect(status != 0)
        #expect(output.isEmpty, "no figures: \(output)")
        let kept = try #require(errors.firstMatch(of: /the embedded cluster kept (\d+) of the 60000 events published to ketenhub.events.canonical/), "\(errors)")
        #expect((30_000..<60_000).contains(Int(kept.1)!), "\(errors)")
    }

    @Test("route refuses a batch size outside 1 to 10000, and batch bytes outside 1 MiB to 64 MiB, before it starts, naming the option",
          arguments: [("--batch-size", ["0", "10001", "9223372036854775807"], "--batch-size must be from 1 to 10000"),
                      ("--batch-bytes", ["0", "1048575", "67108865"], "--batch-bytes must be from 1048576 to 67108864")])
    func routeBatchBounds(option: String, values: [String], refusal: String) async throws {
        for value in values {
            let (status, _, errors) = try await runKetenhub(["route", option, value])
            #expect(status != 0, "\(option) \(value)")
            #expect(errors.contains(refusal), "\(errors)")
        }
    }

    @Test("bench router --json ends with one JSON object whose figures agree with each other")
    func benchRouter() async throws {
        let (status, output, errors) = try await runKetenhub(["bench", "router", "--json", "--events", "2000", "--rounds", "1", "--latency-seconds", "2",
                                                        "--memory-events", "5000", "10000"])
        #expect(status == 0, "\(errors)")
        let lastLine = try #require(output.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        #expect(Set(result.keys) == ["raw_copy_events_per_s", "router_events_per_s", "ratio", "router_records_per_event",
                                     "raw_copy_same_records_events_per_s", "ratio_same_records", "p50_ms", "p99_ms", "p50_stages_ms", "events",
                                     "batch_size", "offered_load_events_per_s", "rounds", "ratio_by_round",
                                     "librdkafka_copy_events_per_s", "ratio_to_librdkafka_copy", "router_events_per_s_by_routers",
                                     "ratio_to_librdkafka_copy_by_routers", "startup_ms", "startup_records_read", "startup_history_decisions",
                                     "resident_mb", "librdkafka_copy_p50_ms", "librdkafka_copy_p99_ms", "p99_ratio_to_librdkafka_copy",
                                     "librdkafka_relay_events_per_s", "ratio_to_librdkafka_relay",
                                     "librdkafka_relay_records_per_event", "librdkafka_relay_delivery_topics"])
        let raw = try #require(result["raw_copy_events_per_s"] as? Double)
        let router = try #require(result["router_events_per_s"] as? Double)
        let ratio = try #require(result["ratio"] as? Double)
        #expect(raw > 0 && router > 0)
        #expect(abs(ratio - router / raw) <= 0.006)
        #expect(result["ratio_by_round"] as? [Double] == [ratio])
        let copy = try #require(result["librdkafka_copy_events_per_s"] as? Double)
        #expect(copy > 0 && abs((result["ratio_to_librdkafka_copy"] as? Double ?? -1) - router / copy) <= 0.006)
        let relay = try #require(result["librdkafka_relay_events_per_s"] as? Double)
        #expect(relay > 0 && abs((result["ratio_to_librdkafka_relay"] as? Double ?? -1) - router / relay) <= 0.006)
        // The C relay writes what the router wrote, over as many organisations' topics: the synthetic
        // cases' deliveries go to the police, Veilig Thuis, OM and RvdK of three regions, the 3RO and SHN.
        let relayRecords = try #require(result["librdkafka_relay_records_per_event"] as? Double)
        #expect(abs(relayRecords - (result["router_records_per_event"] as? Double ?? 0)) <= 0.6, "\(relayRecords)")
        #expect(result["librdkafka_relay_delivery_topics"] as? Int == 14, "\(result["librdkafka_relay_delivery_topics"] ?? "none")")
        #expect(result["events"] as? Int == 2000 && result["rounds"] as? Int == 1 && result["batch_size"] as? Int == 500)
        // Every event has at least a decision record per candidate recipient and its case's state.
        #expect((result["router_records_per_event"] as? Double ?? 0) > 2)
        let byRouters = try #require(result["router_events_per_s_by_routers"] as? [String: Double])
        #expect(Set(byRouters.keys) == ["1", "2", "3"] && byRouters["1"] == router && byRouters.values.allSatisfy { $0 > 0 })
        let startup = try #require(result["startup_ms"] as? [String: Double])
        #expect(Set(startup.keys) == ["long_history", "short_history"] && startup.values.allSatisfy { $0 > 0 })
        let history = try #require(result["startup_history_decisions"] as? [String: Int])
        #expect((history["long_history"] ?? 0) > 5 * (history["short_history"] ?? 0), "\(history)")
        let resident = try #require(result["resident_mb"] as? [String: Double])
        #expect(Set(resident.keys) == ["5000", "10000"] && resident.values.allSatisfy { $0 > 1 })
        let p50 = try #require(result["p50_ms"] as? Double)
        let p99 = try #require(result["p99_ms"] as? Double)
        #expect(p50 > 0 && p50 <= p99)
        // The same load through the router's transactions on librdkafka's C API, and the router's p99 over its.
        let limitP50 = try #require(result["librdkafka_copy_p50_ms"] as? Double)
        let limitP99 = try #require(result["librdkafka_copy_p99_ms"] as? Double)
        #expect(limitP50 > 0 && limitP50 <= limitP99)
        #expect(abs((result["p99_ratio_to_librdkafka_copy"] as? Double ?? -1) - p99 / limitP99) <= 0.006)
        // Each stage from whole-millisecond timestamps: not below -1, not beyond the slowest event.
        let stages = try #require(result["p50_stages_ms"] as? [String: Double])
        #expect(Set(stages.keys) == ["to_decision_records", "decision_records_acknowledged", "to_receiver"], "\(stages)")
        #expect(stages.values.allSatisfy { $0 >= -1 && $0 <= p99 + 1 }, "\(stages)")
    }

    @Test("bench policy --json ends with one JSON object: the rules, the decisions timed, the time per decision (the median of the passes)")
    func benchPolicy() async throws {
        let (status, output, errors) = try await runKetenhub(["bench", "policy", "--json", "--rules", "200", "--rounds", "3"])
        #expect(status == 0, "\(errors)")
        let lastLine = try #require(output.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        #expect(result["rules"] as? Int == 200)
        #expect((result["decisions"] as? Int ?? 0) > 0)
        let byRound = try #require(result["policy_ns_per_decision_by_round"] as? [Double])
        #expect(byRound.count == 3 && byRound.allSatisfy { $0 > 0 })
        #expect(result["policy_ns_per_decision"] as? Double == byRound.sorted()[1], "the median pass")
    }

    @Test("demo --exit-when-done ends with one JSON object: accepted, rejected, permits, denies, deliveries and acks by organisation")
    func demo() async throws {
        let (status, output, errors) = try await runKetenhub(["demo", "--cases", "3", "--seed", "7", "--exit-when-done", "--http-port", "0"])
        #expect(status == 0, "\(errors)")
        let lastLine = try #require(output.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        for key in ["accepted", "rejected", "permits", "denies"] { #expect(result[key] is Int, "\(key)") }
        let deliveries = try #require(result["deliveries"] as? [String: Int])
        let acks = try #require(result["acks"] as? [String: Int])
        #expect(deliveries == acks, "every delivery acknowledged")
        #expect(deliveries.values.reduce(0, +) == result["permits"] as? Int)
        // Regional partners are the organisations of each case's region: a police unit, a parket.
        #expect(deliveries.keys.contains { $0.hasPrefix("politie-") } && deliveries.keys.contains { $0.hasPrefix("om-") } && deliveries["shn"] != nil, "\(deliveries.keys)")
        #expect((result["accepted"] as? Int ?? 0) > 30)
        #expect((result["rejected"] as? Int ?? 0) > 0)
    }

    @Test("demo --cases 0 sends no case, and says so")
    func demoWithoutCases() async throws {
        let (status, output, errors) = try await runKetenhub(["demo", "--cases", "0", "--exit-when-done", "--http-port", "0"])
        #expect(status == 0, "\(errors)")
        let lastLine = try #require(output.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
        #expect(result["accepted"] as? Int == 0 && result["rejected"] as? Int == 0 && result["permits"] as? Int == 0)
        #expect((result["deliveries"] as? [String: Int])?.isEmpty == true)
    }
}
