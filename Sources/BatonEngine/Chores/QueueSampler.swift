import BatonStore

/// Samples the queue's depth by project, status and waiting reason for `/metrics`
/// (`baton_queue_jobs`); only the active coordinator reads it.
public struct QueueSampler: Chore {
    public struct Configuration: Sendable {
        /// How often the queue is counted. Default 5 s.
        public var interval: Duration = .seconds(5)
        public init() {}
    }

    let store: Store
    let configuration: Configuration
    let gauges = QueueDepthGauges()

    public init(store: Store, configuration: Configuration = .init()) {
        self.store = store
        self.configuration = configuration
    }

    public var name: String { "queue sampler" }
    public var interval: Duration { configuration.interval }

    public func tick() async throws {
        gauges.update(try await store.queueDepth())
    }
}
