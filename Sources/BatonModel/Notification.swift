import Foundation

/// A notification subscription as written in an apply document (`kind: notification`): who hears
/// of which runs of an orchestration, or of every orchestration of the project.
public struct NotificationSpec: Sendable, Hashable {
    public enum Event: String, Sendable, Hashable, CaseIterable {
        case failed = "job-failed"
        case succeededWithWarning = "job-succeeded-with-warning"
        case succeeded = "job-succeeded"
        case processingLong = "job-processing-long"
        case waitingLong = "job-waiting-long"
    }
    public enum Channel: Sendable, Hashable {
        /// A JSON POST signed with HMAC-SHA256 of `secret`.
        case webhook(url: String, secret: String, timeoutSeconds: Double)
        case email(address: String)

        public var type: String { if case .webhook = self { "webhook" } else { "email" } }
        public var target: String {
            switch self {
            case .webhook(let url, _, _): url
            case .email(let address): address
            }
        }
    }
    public var projectId: String
    public var id: String
    /// nil: every orchestration of the project.
    public var orchestrationId: String?
    public var events: [Event]
    public var channel: Channel
    public var processingLongPercent: Double
    public var waitingLongMinutes: Double
    public var enabled: Bool

    public static let defaultProcessingLongPercent = 50.0
    public static let defaultWaitingLongMinutes = 30.0

    public init(projectId: String, id: String, orchestrationId: String?, events: [Event], channel: Channel,
                processingLongPercent: Double = NotificationSpec.defaultProcessingLongPercent,
                waitingLongMinutes: Double = NotificationSpec.defaultWaitingLongMinutes, enabled: Bool = true) {
        self.projectId = projectId; self.id = id; self.orchestrationId = orchestrationId; self.events = events
        self.channel = channel; self.processingLongPercent = processingLongPercent
        self.waitingLongMinutes = waitingLongMinutes; self.enabled = enabled
    }

    /// One plain address (`name@host.domain`), nothing an SMTP command or header could be bent with.
    public static func isEmailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && text.count <= 254
            && !text.contains(where: { $0 == " " || $0 == "<" || $0 == ">" || $0 == "," || $0.isNewline || !$0.isASCII })
    }

    /// Parses the fields of a `kind: notification` document after `kind`, `id` and `project`;
    /// `orchestrationExists` tells whether an orchestration id is known. Every problem is reported.
    public static func parse(_ object: [String: JSONValue], projectId: String, id: String,
                             orchestrationExists: (String) -> Bool) -> Result<NotificationSpec, FieldIssues> {
        var problems: [FieldIssue] = []
        func problem(_ field: String, _ message: String) { problems.append(FieldIssue(field, message)) }
        var orchestration: String?
        if let raw = object["orchestration"] {
            if let value = raw.idValue {
                orchestration = value
                if !orchestrationExists(value) {
                    problem("orchestration", "unknown orchestration '\(value)' in project '\(projectId)': define it in this file or apply it first (omit the field to follow every orchestration of the project)")
                }
            } else {
                problem("orchestration", "must be an orchestration id (omit it to follow every orchestration of the project)")
            }
        }
        let names = Event.allCases.map(\.rawValue).joined(separator: ", ")
        var events: [Event] = []
        if let list = object["events"]?.arrayValue, !list.isEmpty {
            for (index, raw) in list.enumerated() {
                if let text = raw.stringValue, let event = Event(rawValue: text) {
                    if !events.contains(event) { events.append(event) }
                } else {
                    problem("events[\(index)]", "unknown event '\(raw.stringValue ?? raw.jsonText)': use \(names)")
                }
            }
        } else {
            problem("events", "is required: a non-empty list of \(names)")
        }
        var channel: Channel?
        if let raw = object["channel"]?.objectValue {
            switch raw["type"]?.stringValue {
            case "webhook":
                let url = raw["url"]?.stringValue
                if url == nil || !(url!.hasPrefix("http://") || url!.hasPrefix("https://")) || url!.count < 10 || url!.contains(where: { $0 == " " || $0.isNewline }) {
                    problem("channel.url", "is required: an http:// or https:// URL the JSON POST goes to")
                }
                let secret = raw["secret"]?.stringValue ?? ""
                if secret.count < 16 {
                    problem("channel.secret", "is required: at least 16 characters, the key of the HMAC-SHA256 signature (X-Baton-Signature)")
                }
                var timeout = 10.0
                if let value = raw["timeoutSeconds"] {
                    if let n = value.numberValue, n > 0, n <= 300 { timeout = n } else {
                        problem("channel.timeoutSeconds", "must be a number of seconds from more than 0 to 300 (default 10)")
                    }
                }
                if let url, secret.count >= 16 { channel = .webhook(url: url, secret: secret, timeoutSeconds: timeout) }
            case "email":
                let address = raw["address"]?.stringValue ?? ""
                if NotificationSpec.isEmailAddress(address) {
                    channel = .email(address: address)
                } else {
                    problem("channel.address", "is required: one email address such as ops@example.com")
                }
            case let other:
                problem("channel.type", other == nil ? "is required: webhook or email" : "unknown channel '\(other!)': use webhook or email")
            }
        } else {
            problem("channel", "is required: {type: webhook, url, secret} or {type: email, address}")
        }
        var percent = defaultProcessingLongPercent, minutes = defaultWaitingLongMinutes
        if let raw = object["processingLongPercent"] {
            if let n = raw.numberValue, n >= 0, n <= 100_000 { percent = n } else {
                problem("processingLongPercent", "must be a number from 0 to 100000: how many percent over the average of the last 20 successful runs is long (default 50)")
            }
        }
        if let raw = object["waitingLongMinutes"] {
            if let n = raw.numberValue, n > 0, n <= 525_600 { minutes = n } else {
                problem("waitingLongMinutes", "must be a number of minutes above 0 (default 30)")
            }
        }
        var enabled = true
        if let raw = object["enabled"] {
            if case .bool(let value) = raw { enabled = value } else { problem("enabled", "must be true or false") }
        }
        guard problems.isEmpty, let channel else { return .failure(FieldIssues(problems)) }
        return .success(NotificationSpec(projectId: projectId, id: id, orchestrationId: orchestration, events: events, channel: channel,
                                         processingLongPercent: percent, waitingLongMinutes: minutes, enabled: enabled))
    }
}

/// When a failed delivery is tried again: 5 s after the first failure, doubling up to 15 min
/// between attempts, and given up after `maxAttempts` (8 attempts span about 10 minutes).
public struct NotificationRetry: Sendable, Hashable {
    public var baseSeconds: Double
    public var maxAttempts: Int

    public init(baseSeconds: Double = 5, maxAttempts: Int = 8) {
        self.baseSeconds = baseSeconds
        self.maxAttempts = maxAttempts
    }

    /// Seconds to wait after failed attempt number `attempt` (1-based), or nil to give up.
    public func delay(afterAttempt attempt: Int) -> Double? {
        guard attempt < maxAttempts else { return nil }
        return min(baseSeconds * pow(2, Double(max(0, attempt - 1))), 900)
    }
}
