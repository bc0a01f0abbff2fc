import BatonStore
import Foundation
import Logging

/// Fires due schedules (`Schedules.fireDue`): each slot once, keyed by (schedule, slot).
public struct ScheduleFirer: Chore {
    public struct Configuration: Sendable {
        /// How often due schedules are looked for; a slot fires at most this late. Default 1 s.
        public var interval: Duration = .seconds(1)
        public init() {}
    }

    let store: Store
    let configuration: Configuration
    let logger: Logger

    public init(store: Store, configuration: Configuration = .init(), logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    public var name: String { "schedule firer" }
    public var interval: Duration { configuration.interval }

    public func tick() async throws {
        _ = try await Schedules.fireDue(store: store, now: Date(), logger: logger)
    }
}
