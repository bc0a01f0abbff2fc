import BatonModel
import BatonStore
import Crypto
import Foundation
import Logging
import Synchronization
import Metrics

/// Delivers the notifications outbox: webhooks (a JSON POST signed with HMAC-SHA256) and emails
/// (SMTP). The active coordinator runs `Notifier.loop`; rows are leased one attempt at a time, so
/// a coordinator killed mid-attempt leaves the row to be tried again after its lease.
///
/// A receiver may see a notification twice only when a coordinator dies after the receiver
/// answered and before the delivery was recorded; `X-Baton-Notification-Id` lets it drop the repeat.
public final class Notifier: Chore {
    public struct Configuration: Sendable {
        /// SMTP relay for email notifications; nil: emails fail with a clear error until one is set.
        public var smtpHost: String?
        public var smtpPort: Int = 25
        public var smtpFrom: String = "baton@localhost"
        /// Base of the links in notifications: `CONSOLE_URL/console/jobs/ID`.
        public var consoleURL: String = "http://127.0.0.1:8420"
        public var retry = NotificationRetry()
        /// Where webhooks may be delivered. Default: public addresses only (`--outbound-allow` adds more).
        public var outbound = OutboundPolicy()
        /// How often the outbox is read without a wake-up (retries falling due).
        public var pollInterval: Duration = .seconds(1)
        /// How often runs that go on or wait too long are looked for.
        public var longRunInterval: Duration = .milliseconds(2500)

        public init() {}
    }

    let store: Store
    let settings: Configuration
    let logger: Logger
    let lookedForLongRuns = Mutex(ContinuousClock.now - .seconds(3600))
    public let wakeups: WakeSignal? = WakeSignal()

    public init(store: Store, configuration: Configuration, logger: Logger) {
        self.store = store
        self.settings = configuration
        self.logger = logger
    }

    public var name: String { "notifier" }
    /// The outbox is read every `pollInterval` (retries falling due) and on a wake-up.
    public var interval: Duration { settings.pollInterval }

    /// Reads the outbox now: the coordinator calls it when a turn ended runs.
    public func wake() { wakeups?.wake() }

    /// Finds long runs (every `longRunInterval`) and delivers what is due.
    public func tick() async throws {
        let due = lookedForLongRuns.withLock { last -> Bool in
            guard ContinuousClock.now - last >= settings.longRunInterval else { return false }
            last = .now
            return true
        }
        if due {
            let written = try await store.enqueueLongNotifications()
            if written > 0 { logger.info("long runs found", metadata: ["baton.notifications": "\(written)"]) }
        }
        while try await deliverDue() > 0 && !Task.isCancelled {}
    }

    /// Attempts every due notification once (up to 20); returns how many were attempted.
    @discardableResult
    public func deliverDue() async throws -> Int {
        let due = try await store.leaseNotifications(limit: 20, leaseSeconds: 30)
        await withTaskGroup(of: Void.self) { group in
            for notification in due {
                group.addTask { await self.attempt(notification) }
            }
        }
        return due.count
    }

    func attempt(_ notification: PendingNotification) async {
        let metadata: Logger.Metadata = ["baton.notification_id": "\(notification.id)", "baton.job_id": "\(notification.jobId)",
                                         "baton.event": "\(notification.event)", "baton.channel": "\(notification.channel)"]
        do {
            guard let run = try await store.job(id: notification.jobId) else {
                try await store.notificationAttemptFailed(id: notification.id, error: "the run no longer exists", retryAfter: nil)
                return
            }
            let children = try await store.children(of: run.id)
            let content = NotificationContent(notification: notification, run: run, children: children, consoleURL: settings.consoleURL)
            switch notification.channel {
            case "webhook":
                try await postWebhook(notification, body: content.webhookBody())
            default:
                guard let host = settings.smtpHost else {
                    throw SMTPClient.Failure(description: "no SMTP server: start the coordinator with --smtp-host (or BATON_SMTP_HOST)")
                }
                try await SMTPClient(host: host, port: settings.smtpPort, timeoutSeconds: notification.timeoutSeconds)
                    .send(from: settings.smtpFrom, to: notification.target, subject: content.subject, body: content.emailBody)
            }
            try await store.notificationDelivered(id: notification.id)
            Counter(label: MetricNames.notificationDeliveries, dimensions: [("channel", notification.channel), ("outcome", "delivered")]).increment()
            logger.info("notification delivered", metadata: metadata)
        } catch {
            let retryAfter = settings.retry.delay(afterAttempt: notification.attempts)
            let reason = "\(error)"
            Counter(label: MetricNames.notificationDeliveries,
                    dimensions: [("channel", notification.channel), ("outcome", retryAfter == nil ? "failed" : "retried")]).increment()
            logger.warning(retryAfter == nil ? "notification given up" : "notification attempt failed",
                           metadata: metadata.merging(["error": "\(reason.prefix(300))", "baton.attempt": "\(notification.attempts)",
                                                       "baton.retry_after_s": "\(retryAfter.map { String($0) } ?? "-")"]) { $1 })
            try? await store.notificationAttemptFailed(id: notification.id, error: reason, retryAfter: retryAfter)
        }
    }

    func postWebhook(_ notification: PendingNotification, body: Data) async throws {
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let headers = [
            ("Content-Type", "application/json"), ("User-Agent", "baton-notifier"),
            ("X-Baton-Event", notification.event), ("X-Baton-Notification-Id", String(notification.id)),
            ("X-Baton-Timestamp", timestamp),
            ("X-Baton-Signature", "sha256=" + Self.signature(secret: notification.secret ?? "", timestamp: timestamp, body: body)),
        ]
        let response: OutboundHTTP.Response
        do {
            response = try await OutboundHTTP(policy: settings.outbound).send(.POST, url: notification.target, headers: headers, body: body,
                                                                             limit: 200, timeout: .milliseconds(Int(notification.timeoutSeconds * 1000)))
        } catch let failure as OutboundHTTP.Failure {
            throw SMTPClient.Failure(description: failure.description)
        }
        guard (200..<300).contains(response.status) else {
            throw SMTPClient.Failure(description: "webhook answered HTTP \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
    }

    /// Hex HMAC-SHA256 of "TIMESTAMP.BODY" keyed with the subscription's secret: what
    /// `X-Baton-Signature: sha256=...` carries. A receiver recomputes it and compares in
    /// constant time, and rejects old timestamps to stop replays.
    public static func signature(secret: String, timestamp: String, body: Data) -> String {
        var message = Data(timestamp.utf8)
        message.append(UInt8(ascii: "."))
        message.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }
}

/// What a notification says: the run's status, times, link and failed tasks (from its `RunView`).
public struct NotificationContent: Sendable {
    public var notification: PendingNotification
    public var view: RunView
    public var consoleURL: String

    public init(notification: PendingNotification, run: Job, children: [Job], consoleURL: String) {
        self.notification = notification
        self.view = RunView(run: run, children: children)
        self.consoleURL = consoleURL
    }

    public var run: Job { view.run }

    public var link: String {
        var base = consoleURL
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/console/jobs/\(run.id)"
    }

    var headline: String {
        switch notification.event {
        case "job-failed": "failed"
        case "job-succeeded-with-warning": "succeeded with warnings"
        case "job-succeeded": "succeeded"
        case "job-processing-long": "is running longer than usual"
        default: "has been waiting long"
        }
    }

    public var subject: String { "[Baton] orchestration \(run.configId), run \(run.id) \(headline)" }

    public var emailBody: String {
        var lines = [
            "Run \(run.id) of orchestration '\(run.configId)' (project \(run.projectId)) \(headline).", "",
            "Status:    \(run.status.rawValue)",
            "Started:   \(run.startTime.map(Job.formatTime) ?? "not yet")",
        ]
        if let end = run.endTime { lines.append("Ended:     \(Job.formatTime(end))") }
        if let duration = run.durationSeconds { lines.append(String(format: "Duration:  %.1f s", duration)) }
        lines.append("Started by: \(run.initializedBy)")
        if let message = view.message { lines.append("Result:    \(message)") }
        lines.append("Link:      \(link)")
        let failed = view.failedTasks
        if !failed.isEmpty {
            lines.append("")
            lines.append("Failed tasks:")
            for item in failed {
                let job = item.job.map { "job \($0.id) \($0.status.rawValue)" } ?? "no job"
                lines.append("- \(item.task.name) [\(item.task.id)] \(item.task.componentId)/\(item.task.configId): \(job)\(item.message.map { ": \($0)" } ?? "")")
            }
        }
        lines.append("")
        lines.append("Notification \(notification.id), event \(notification.event)\(notification.subscriptionId.map { ", subscription \($0)" } ?? ", to the owner of the token that started the run").")
        return lines.joined(separator: "\n")
    }

    /// The JSON POST: the event, the run in brief (`RunView.summaryJSON`) and its failed tasks
    /// (each in the run view's task shape).
    public func webhookBody() -> Data {
        let body: JSONValue = [
            "id": .number(Double(notification.id)),
            "event": .string(notification.event),
            "project": ["id": .string(run.projectId)],
            "job": view.summaryJSON(url: link),
            "failedTasks": .array(view.failedTasks.map(\.json)),
            "createdTime": .string(Job.formatTime(notification.createdTime)),
        ]
        return Data(body.jsonText.utf8)
    }
}
