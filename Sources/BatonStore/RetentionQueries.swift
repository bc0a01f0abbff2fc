import BatonModel
import Foundation
import PostgresNIO

extension Store {
    /// Deletes up to `batchSize` finished top-level jobs (with a run's task jobs, and their
    /// events and notifications) created and ended before `cutoff`, in one short transaction.
    /// Returns how many top-level jobs went; fewer than `batchSize` means none are left.
    public func pruneFinishedJobs(before cutoff: Date, batchSize: Int) async throws -> Int {
        for try await count in try await client.query("SELECT prune_finished_jobs(\(cutoff), \(Int32(batchSize)))", logger: logger).decode(Int32.self) {
            return Int(count)
        }
        return 0
    }
}
