import BatonStore
import Logging
import Metrics

/// Ends or re-queues jobs whose lease ran out (`rescue_expired_leases`): their worker died, lost
/// its connection or was stopped, and its jobs' processes have stopped (the fence).
public struct Rescuer: Chore {
    public struct Configuration: Sendable {
        /// How often expired leases are looked for. A lost job ends at most this long after its
        /// lease. Default 2 s.
        public var interval: Duration = .seconds(2)
        public init() {}
    }

    let store: Store
    let configuration: Configuration
    let logger: Logger
    let rescued = Counter(label: MetricNames.jobsRescued)

    public init(store: Store, configuration: Configuration = .init(), logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    public var name: String { "rescuer" }
    public var interval: Duration { configuration.interval }

    public func tick() async throws {
        let lost = try await store.rescueExpiredLeases()
        for (job, outcome) in lost {
            logger.warning("job's worker lost", metadata: ["baton.job_id": "\(job)", "baton.status": "\(outcome)"])
        }
        if !lost.isEmpty { rescued.increment(by: lost.count) }
    }
}
