import BatonModel
import Foundation
import PostgresNIO

/// A row of the notifications outbox, leased for one delivery attempt.
public struct PendingNotification: Sendable, Hashable {
    public var id: Int64
    public var projectId: String
    public var jobId: Int64
    public var event: String
    public var subscriptionId: String?
    public var channel: String
    public var target: String
    public var secret: String?
    public var timeoutSeconds: Double
    /// Attempts started, this one included.
    public var attempts: Int
    public var createdTime: Date
}

extension Store {
    /// Leases up to `limit` due notifications for one attempt each: their next attempt moves to
    /// `leaseSeconds` from now, so a coordinator that dies mid-attempt leaves them to be tried
    /// again then. `SKIP LOCKED` keeps two deliverers off the same row.
    public func leaseNotifications(limit: Int, leaseSeconds: Double) async throws -> [PendingNotification] {
        let rows = try await client.query("""
            UPDATE notifications n SET attempts = n.attempts + 1,
                   lease_until = now() + make_interval(secs => \(leaseSeconds) + n.timeout_seconds),
                   next_attempt_time = now() + make_interval(secs => \(leaseSeconds) + n.timeout_seconds)
            WHERE n.id IN (SELECT id FROM notifications
                           WHERE delivered_time IS NULL AND failed_time IS NULL AND next_attempt_time <= now()
                           ORDER BY next_attempt_time, id LIMIT \(Int32(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING n.id, n.project_id, n.job_id, n.event, n.subscription_id, n.channel, n.target, n.secret,
                      n.timeout_seconds, n.attempts, n.created_time
            """, logger: logger)
        var out: [PendingNotification] = []
        for try await (id, project, job, event, subscription, channel, target, secret, timeout, attempts, created)
            in rows.decode((Int64, String, Int64, String, String?, String, String, String?, Double, Int32, Date).self) {
            out.append(PendingNotification(id: id, projectId: project, jobId: job, event: event, subscriptionId: subscription,
                                           channel: channel, target: target, secret: secret, timeoutSeconds: timeout,
                                           attempts: Int(attempts), createdTime: created))
        }
        return out.sorted { $0.id < $1.id }
    }

    /// Records a delivered notification. False when it was recorded already (by another deliverer).
    @discardableResult
    public func notificationDelivered(id: Int64) async throws -> Bool {
        var updated = false
        for try await _ in try await client.query("""
            UPDATE notifications SET delivered_time = now(), lease_until = NULL, last_error = NULL
            WHERE id = \(id) AND delivered_time IS NULL RETURNING id
            """, logger: logger) { updated = true }
        return updated
    }

    /// Records a failed attempt: tried again after `retryAfter` seconds, or given up when nil.
    public func notificationAttemptFailed(id: Int64, error: String, retryAfter: Double?) async throws {
        try await client.run("""
            UPDATE notifications SET lease_until = NULL, last_error = \(String(error.prefix(2000))),
                   next_attempt_time = now() + make_interval(secs => \(retryAfter ?? 0)),
                   failed_time = CASE WHEN \(retryAfter)::float8 IS NULL THEN now() END
            WHERE id = \(id) AND delivered_time IS NULL
            """, logger: logger)
    }

    /// Writes job-processing-long and job-waiting-long notifications of runs that passed their
    /// subscriptions' thresholds (each once). Returns how many were written.
    public func enqueueLongNotifications() async throws -> Int {
        for try await count in try await client.query("SELECT enqueue_long_notifications()", logger: logger).decode(Int32.self) {
            return Int(count)
        }
        return 0
    }

    /// The outbox rows of a project, newest first, optionally of one run.
    public func notifications(projectId: String?, jobId: Int64? = nil, limit: Int = 100) async throws -> [NotificationRow] {
        let rows = try await client.query("""
            SELECT id, job_id, event, subscription_id, channel, target, attempts, created_time, delivered_time, failed_time, last_error
            FROM notifications
            WHERE (\(projectId)::text IS NULL OR project_id = \(projectId)) AND (\(jobId)::bigint IS NULL OR job_id = \(jobId))
            ORDER BY id DESC LIMIT \(Int32(limit))
            """, logger: logger)
        var out: [NotificationRow] = []
        for try await (id, job, event, subscription, channel, target, attempts, created, delivered, failed, error)
            in rows.decode((Int64, Int64, String, String?, String, String, Int32, Date, Date?, Date?, String?).self) {
            out.append(NotificationRow(id: id, jobId: job, event: event, subscriptionId: subscription, channel: channel, target: target,
                                       attempts: Int(attempts), createdTime: created, deliveredTime: delivered, failedTime: failed, lastError: error))
        }
        return out
    }

    /// Notification subscriptions of a project (`kind: notification` documents), by id.
    public func notificationSubscriptions(projectId: String) async throws -> [(id: String, orchestrationId: String?, events: [String], channel: String, target: String, enabled: Bool)] {
        let rows = try await client.query("""
            SELECT id, orchestration_id, events, channel, target, enabled FROM notification_subscriptions
            WHERE project_id = \(projectId) ORDER BY id
            """, logger: logger)
        var out: [(id: String, orchestrationId: String?, events: [String], channel: String, target: String, enabled: Bool)] = []
        for try await (id, orchestration, events, channel, target, enabled) in rows.decode((String, String?, [String], String, String, Bool).self) {
            out.append((id, orchestration, events, channel, target, enabled))
        }
        return out
    }
}
