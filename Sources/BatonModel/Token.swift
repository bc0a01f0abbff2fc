import Foundation

/// What a token may do, within its one project.
public enum TokenScope: Sendable, Hashable, CustomStringConvertible {
    /// Everything in the project.
    case admin
    /// GET only.
    case read
    /// Run this orchestration and read its runs, nothing else.
    case trigger(orchestrationId: String)
    /// The token the runs of this orchestration act as (made with the orchestration).
    case orchestration(orchestrationId: String)

    /// Parses `admin`, `read` or `trigger:ORCHESTRATION` (the CLI's `--scope`).
    public init(parsing text: String) throws {
        switch text {
        case "admin": self = .admin
        case "read": self = .read
        default:
            if text.hasPrefix("trigger:"), text.count > 8 {
                self = .trigger(orchestrationId: String(text.dropFirst(8)))
            } else {
                throw BatonError(.invalidInput, "scope must be admin, read or trigger:ORCHESTRATION_ID, not '\(text)'", field: "scope")
            }
        }
    }

    public init?(scope: String, orchestrationId: String?) {
        switch (scope, orchestrationId) {
        case ("admin", nil): self = .admin
        case ("read", nil): self = .read
        case ("trigger", let id?): self = .trigger(orchestrationId: id)
        case ("orchestration", let id?): self = .orchestration(orchestrationId: id)
        default: return nil
        }
    }

    /// The `tokens.scope` column.
    public var column: String {
        switch self {
        case .admin: "admin"
        case .read: "read"
        case .trigger: "trigger"
        case .orchestration: "orchestration"
        }
    }

    public var orchestrationId: String? {
        switch self {
        case .admin, .read: nil
        case .trigger(let id), .orchestration(let id): id
        }
    }

    public var description: String {
        switch self {
        case .admin, .read: column
        case .trigger(let id): "trigger:\(id)"
        case .orchestration(let id): "orchestration:\(id)"
        }
    }
}

/// An API token as stored (the secret is not).
public struct Token: Sendable, Hashable {
    public var id: Int64
    public var projectId: String
    public var scope: TokenScope
    public var description: String
    public var createdTime: Date?
    /// After this time the token answers 401; nil: it does not expire.
    public var expiresTime: Date?
    /// When it was revoked (it answers 401 from then on); nil: it was not.
    public var revokedTime: Date?
    /// When it last authenticated a request, to the minute; nil: never.
    public var lastUsedTime: Date?

    public init(id: Int64, projectId: String, scope: TokenScope, description: String, createdTime: Date? = nil,
                expiresTime: Date? = nil, revokedTime: Date? = nil, lastUsedTime: Date? = nil) {
        self.id = id; self.projectId = projectId; self.scope = scope; self.description = description
        self.createdTime = createdTime; self.expiresTime = expiresTime; self.revokedTime = revokedTime; self.lastUsedTime = lastUsedTime
    }

    /// Why the token may not be used at `now`, or nil when it may.
    public func refusal(at now: Date = Date()) -> String? {
        if let revokedTime { return "this token was revoked at \(Job.formatTime(revokedTime))" }
        if let expiresTime, expiresTime <= now { return "this token expired at \(Job.formatTime(expiresTime))" }
        return nil
    }

    /// The longest `expiresIn`: ten years.
    public static let maxExpiresIn: Double = 10 * 365 * 86_400

    /// Reads a lifetime: seconds (`3600`, `3600s`), minutes (`90m`), hours (`12h`) or days (`30d`).
    public static func parseLifetime(_ text: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var number = Substring(text.trimmingCharacters(in: .whitespaces))
        var unit = 1.0
        if let last = number.last, let factor = units[last] { unit = factor; number = number.dropLast() }
        guard let value = Double(number), value > 0, value * unit <= maxExpiresIn, value == value.rounded() else {
            throw BatonError(.invalidInput, "expires-in must be a whole number of seconds, minutes, hours or days (3600, 90m, 12h, 30d), at most 10 years; got '\(text)'", field: "expires-in")
        }
        return value * unit
    }

    /// A new secret: `baton_` and 40 random letters and digits (about 238 bits).
    public static func newSecret(prefix: String = "baton_") -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return prefix + String((0..<40).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["id": .string(String(id)), "projectId": .string(projectId),
                                           "scope": .string(scope.column), "description": .string(description)]
        if let orchestrationId = scope.orchestrationId { object["orchestrationId"] = .string(orchestrationId) }
        for (key, time) in [("createdTime", createdTime), ("expiresTime", expiresTime), ("revokedTime", revokedTime), ("lastUsedTime", lastUsedTime)] {
            if let time { object[key] = .string(Job.formatTime(time)) }
        }
        return .object(object)
    }
}
