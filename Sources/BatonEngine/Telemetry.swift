import Foundation
import Metrics
import Synchronization

/// Metric names every process exports (deploy/grafana-dashboard.json and deploy/README.md use
/// them). Recorded with swift-metrics; `baton` bootstraps swift-prometheus, which serves them at
/// `/metrics`. Without a bootstrap (library use, tests in-process) they cost nothing.
public enum MetricNames {
    /// Counter {component}: jobs a worker claimed.
    public static let jobsClaimed = "baton_jobs_claimed_total"
    /// Counter {component, status}: jobs a worker ran to an outcome.
    public static let jobsFinished = "baton_jobs_finished_total"
    /// Histogram: one claiming turn of a worker (record outcomes + claim, one statement).
    public static let claimDuration = "baton_claim_duration_seconds"
    /// Histogram {component}: how long jobs ran in the worker.
    public static let jobDuration = "baton_job_duration_seconds"
    /// Gauge: how late the worker's last heartbeat was against its schedule (seconds).
    public static let heartbeatLag = "baton_heartbeat_lag_seconds"
    /// Gauge {project, status, reason}: unfinished jobs (API at each scrape; active coordinator every 5 s).
    public static let queueJobs = "baton_queue_jobs"
    /// Counter: jobs whose worker stopped heart-beating, recovered by the coordinator.
    public static let jobsRescued = "baton_jobs_rescued_total"
    /// Gauge: 1 while this coordinator is the active one.
    public static let coordinatorLeader = "baton_coordinator_leader"
    /// Counter {outcome}: schedule firings (created, queued, skipped, replaced).
    public static let scheduleFirings = "baton_schedule_firings_total"
    /// Counter {channel, outcome}: notification delivery attempts (delivered, retried, failed).
    public static let notificationDeliveries = "baton_notification_deliveries_total"
    /// Counter: finished top-level jobs deleted by retention (a run counts once, with its task jobs).
    public static let jobsPruned = "baton_jobs_pruned_total"
    /// Counter {code}: API requests answered.
    public static let apiRequests = "baton_api_requests_total"
    /// Gauge: whether the database answered the last check.
    public static let databaseUp = "baton_database_up"
}

/// The queue-depth gauges: label sets that disappear from the database are set to 0, so a
/// drained queue reads 0 rather than its last value.
public final class QueueDepthGauges: Sendable {
    private let seen = Mutex<Set<[String]>>([])

    public init() {}

    public func update(_ rows: [(projectId: String, status: String, reason: String?, count: Int)]) {
        var now: [[String]: Int] = [:]
        for row in rows { now[[row.projectId, row.status, row.reason ?? ""], default: 0] += row.count }
        let gone = seen.withLock { seen -> Set<[String]> in
            let gone = seen.subtracting(now.keys)
            seen.formUnion(now.keys)
            return gone
        }
        for key in gone { gauge(key).record(0) }
        for (key, count) in now { gauge(key).record(count) }
    }

    private func gauge(_ key: [String]) -> Gauge {
        Gauge(label: MetricNames.queueJobs, dimensions: [("project", key[0]), ("status", key[1]), ("reason", key[2])])
    }
}
