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

    public init(id: Int64, projectId: String, scope: TokenScope, description: String) {
        self.id = id; self.projectId = projectId; self.scope = scope; self.description = description
    }

    /// A new secret: `baton_` and 40 random letters and digits (about 238 bits).
    public static func newSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return "baton_" + String((0..<40).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["id": .string(String(id)), "projectId": .string(projectId),
                                           "scope": .string(scope.column), "description": .string(description)]
        if let orchestrationId = scope.orchestrationId { object["orchestrationId"] = .string(orchestrationId) }
        return .object(object)
    }
}
