import HubTopology
import Logging
import Router
import SharingPolicy
import Synchronization

/// The router role: one routing service at a time, started again from the topics when it fails
/// (crash-only). Its counts add up over the instances, for readiness and the demo's progress.
public final class RouterSupervisor: Sendable {
    private let configuration: RouterConfiguration
    private let schedule: MatrixSchedule
    private let logger: Logger
    private struct State {
        var current: RoutingService?
        var committedBefore = 0
    }

    private let state = Mutex(State())

    public init(configuration: RouterConfiguration, schedule: MatrixSchedule, logger: Logger) {
        self.configuration = configuration
        self.schedule = schedule
        self.logger = logger
    }

    /// Routes under the matrix versions on the governance topic: it reads them to the end before the
    /// first batch (a restarted router never routes under the repository's matrix alone), then
    /// follows the topic every second beside the routing. Ends as `run` does.
    public func runFollowingGovernance(reader: TopicReader, topics: HubTopics) async throws {
        let schedule = self.schedule
        let logger = self.logger
        let caughtUp = try await GovernanceTopic.follow(into: schedule, reader: reader, topics: topics, known: [], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            group.addTask {
                var known = caughtUp
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(1))
                    known = try await GovernanceTopic.follow(into: schedule, reader: reader, topics: topics, known: known, logger: logger)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Routes until cancelled (the instance in hand finishes its batch and commits); a failed
    /// instance's error is thrown, for the node to start the role again.
    func run() async throws {
        let service = RoutingService(configuration: configuration, matrices: schedule, logger: logger)
        state.withLock { $0.current = service }
        defer {
            state.withLock { state in
                state.committedBefore += service.committedRecords
                state.current = nil
            }
        }
        try await service.run()
    }

    /// Input records committed by this node's routers so far.
    public var committedRecords: Int {
        state.withLock { $0.committedBefore + ($0.current?.committedRecords ?? 0) }
    }

    /// Whether a router has its partitions and routes.
    public var isRouting: Bool { state.withLock { $0.current?.currentPhase == .running } }
}
