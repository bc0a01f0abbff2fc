import BatonModel
import BatonStore
import Foundation

/// Polls `condition` every `interval` until it holds; throws after `timeout` seconds.
public func waitUntil(timeout: Double = 60, interval: Duration = .milliseconds(50), _ what: String = "condition",
                      _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: interval)
    }
    throw BatonError(.unavailable, "timed out after \(timeout) s waiting for \(what)")
}

extension Store {
    /// Waits until every job of `ids` is final and returns them.
    public func waitForFinal(_ ids: [Int64], timeout: Double = 60) async throws -> [Job] {
        var jobs: [Job] = []
        try await waitUntil(timeout: timeout, "\(ids.count) jobs to finish") {
            jobs = try await self.jobs(JobFilter(ids: ids, limit: ids.count))
            return jobs.count == ids.count && jobs.allSatisfy(\.status.isFinal)
        }
        return jobs
    }
}

/// The most intervals open at one instant; an interval ending when another starts does not overlap it.
public func peakConcurrency(_ jobs: [Job]) -> Int {
    var edges: [(time: Date, delta: Int)] = []
    for job in jobs {
        guard let start = job.startTime, let end = job.endTime else { continue }
        edges.append((start, 1))
        edges.append((end, -1))
    }
    edges.sort { $0.time == $1.time ? $0.delta < $1.delta : $0.time < $1.time }
    var running = 0, peak = 0
    for edge in edges {
        running += edge.delta
        peak = max(peak, running)
    }
    return peak
}
