import Foundation

// Rows the store reads back for people, as values, and the JSON the API and `baton ... --json`
// print of them. The store returns these; it renders nothing.

/// A stored schedule and when it last fired: `GET /v1/schedules`, `baton schedules list`.
public struct ScheduleRow: Sendable, Hashable {
    public var projectId: String
    public var id: String
    public var orchestrationId: String
    public var cron: String
    public var enabled: Bool
    public var onOverlap: String
    /// The last change (apply, enable, disable): no slot before it fires.
    public var updated: Date
    public var lastFireTime: Date?

    public init(projectId: String, id: String, orchestrationId: String, cron: String, enabled: Bool, onOverlap: String,
                updated: Date, lastFireTime: Date?) {
        self.projectId = projectId; self.id = id; self.orchestrationId = orchestrationId; self.cron = cron
        self.enabled = enabled; self.onOverlap = onOverlap; self.updated = updated; self.lastFireTime = lastFireTime
    }

    /// The next slot after `now` (UTC), or nil when disabled.
    public func nextFireTime(after now: Date) -> Date? {
        enabled ? (try? CronExpression(cron))?.next(after: now) : nil
    }

    public func json(now: Date) -> JSONValue {
        ["project": .string(projectId), "id": .string(id), "orchestration": .string(orchestrationId),
         "cron": .string(cron), "onOverlap": .string(onOverlap), "enabled": .bool(enabled),
         "nextFireTime": nextFireTime(after: now).map { .string(Job.formatTime($0)) } ?? .null,
         "lastFireTime": lastFireTime.map { .string(Job.formatTime($0)) } ?? .null]
    }
}

/// A row of the notifications outbox with its delivery state: `GET /v1/jobs/{id}/notifications`,
/// `baton notifications list`.
public struct NotificationRow: Sendable, Hashable {
    public var id: Int64
    public var jobId: Int64
    public var event: String
    public var subscriptionId: String?
    public var channel: String
    public var target: String
    public var attempts: Int
    public var createdTime: Date
    public var deliveredTime: Date?
    public var failedTime: Date?
    public var lastError: String?

    public init(id: Int64, jobId: Int64, event: String, subscriptionId: String?, channel: String, target: String, attempts: Int,
                createdTime: Date, deliveredTime: Date?, failedTime: Date?, lastError: String?) {
        self.id = id; self.jobId = jobId; self.event = event; self.subscriptionId = subscriptionId; self.channel = channel
        self.target = target; self.attempts = attempts; self.createdTime = createdTime; self.deliveredTime = deliveredTime
        self.failedTime = failedTime; self.lastError = lastError
    }

    public var state: String { deliveredTime != nil ? "delivered" : failedTime != nil ? "failed" : "pending" }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .number(Double(id)), "jobId": .string(String(jobId)), "event": .string(event), "channel": .string(channel),
            "target": .string(target), "attempts": .number(Double(attempts)), "state": .string(state),
            "createdTime": .string(Job.formatTime(createdTime)),
        ]
        if let subscriptionId { object["subscription"] = .string(subscriptionId) }
        if let deliveredTime { object["deliveredTime"] = .string(Job.formatTime(deliveredTime)) }
        if let failedTime { object["failedTime"] = .string(Job.formatTime(failedTime)) }
        if let lastError { object["lastError"] = .string(lastError) }
        return .object(object)
    }
}
