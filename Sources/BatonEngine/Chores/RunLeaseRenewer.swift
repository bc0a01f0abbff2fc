import BatonStore
import Logging

/// Renews the leases of the orchestration runs in progress and records the active coordinator
/// as their runner (`jobs.worker_id` of a run).
public struct RunLeaseRenewer: Chore {
    public struct Configuration: Sendable {
        /// A run's lease (the one its start gives it too). Default 60 s.
        public var leaseSeconds: Double = CoordinatorSession.runLeaseSeconds
        /// How often the leases are renewed: a sixth of the lease by default (10 s).
        public var interval: Duration? = nil
        public init() {}
    }

    let store: Store
    let coordinatorId: String
    let configuration: Configuration

    public init(store: Store, coordinatorId: String, configuration: Configuration = .init()) {
        self.store = store
        self.coordinatorId = coordinatorId
        self.configuration = configuration
    }

    public var name: String { "run lease renewer" }
    public var interval: Duration { configuration.interval ?? .milliseconds(Int64(configuration.leaseSeconds * 1000 / 6)) }

    public func tick() async throws {
        try await store.renewRunLeases(coordinatorId: coordinatorId, leaseSeconds: configuration.leaseSeconds)
    }
}
