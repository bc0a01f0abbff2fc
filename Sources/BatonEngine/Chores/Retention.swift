import BatonStore
import Foundation
import Logging
import Metrics

/// Prunes finished jobs older than `age` in batches of `batchSize`, pausing between batches so
/// the database serves claims first; the active coordinator runs it with `--retention-days`.
public struct Retention: Chore {
    public struct Configuration: Sendable {
        /// Finished jobs older than this go.
        public var age: Duration
        /// Top-level jobs deleted per transaction. Default 500.
        public var batchSize: Int = 500
        /// Pause between batches while there is more to delete. Default 100 ms.
        public var pause: Duration = .milliseconds(100)
        /// How often to look again once nothing is left. Default 60 s.
        public var interval: Duration = .seconds(60)

        public init(age: Duration) {
            self.age = age
        }
    }

    let store: Store
    let configuration: Configuration
    let logger: Logger

    public init(store: Store, configuration: Configuration, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    public var name: String { "retention" }
    public var interval: Duration { configuration.interval }

    public func tick() async throws { try await pruneDue() }

    /// Deletes everything due now, batch by batch; returns how many top-level jobs went.
    @discardableResult
    public func pruneDue() async throws -> Int {
        let age = configuration.age
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let cutoff = Date().addingTimeInterval(-seconds)
        var total = 0
        while !Task.isCancelled {
            let deleted = try await store.pruneFinishedJobs(before: cutoff, batchSize: configuration.batchSize)
            total += deleted
            Counter(label: MetricNames.jobsPruned).increment(by: deleted)
            if deleted < configuration.batchSize { break }
            try? await Task.sleep(for: configuration.pause)
        }
        if total > 0 { logger.info("retention pruned finished jobs", metadata: ["baton.jobs": "\(total)", "baton.before": "\(cutoff)"]) }
        return total
    }
}
