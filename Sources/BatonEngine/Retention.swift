import BatonStore
import Foundation
import Logging
import Metrics

/// Prunes finished jobs older than `age` in batches of `batchSize`, pausing between batches so
/// the database serves claims first; the active coordinator runs `loop` with `--retention-days`.
public struct Retention: Sendable {
    public var age: Duration
    public var batchSize: Int = 500
    /// Pause between batches while there is more to delete.
    public var pause: Duration = .milliseconds(100)
    /// How often to look again once nothing is left.
    public var interval: Duration = .seconds(60)

    public init(age: Duration) {
        self.age = age
    }

    /// Deletes everything due now, batch by batch; returns how many top-level jobs went.
    @discardableResult
    public func pruneDue(store: Store, logger: Logger) async throws -> Int {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let cutoff = Date().addingTimeInterval(-seconds)
        var total = 0
        while !Task.isCancelled {
            let deleted = try await store.pruneFinishedJobs(before: cutoff, batchSize: batchSize)
            total += deleted
            Counter(label: MetricNames.jobsPruned).increment(by: deleted)
            if deleted < batchSize { break }
            try? await Task.sleep(for: pause)
        }
        if total > 0 { logger.info("retention pruned finished jobs", metadata: ["baton.jobs": "\(total)", "baton.before": "\(cutoff)"]) }
        return total
    }

    public func loop(store: Store, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await pruneDue(store: store, logger: logger)
            } catch {
                if Task.isCancelled { return }
                logger.warning("retention failed; trying again later", metadata: ["error": "\(String(reflecting: error).prefix(300))"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
