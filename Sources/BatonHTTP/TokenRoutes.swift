import BatonModel
import BatonStore
import Hummingbird

// /v1/tokens: a project's tokens, for its admins. A secret is shown once, in the answer that
// creates it; only its SHA-256 is stored.

extension API {
    func listTokens(_ call: Call) async throws -> Response {
        json(.ok, .array(try await store.tokens(projectId: call.token.projectId).map(\.json)))
    }

    func createToken(_ call: Call) async throws -> Response {
        let body = try call.bodyObject()
        let known: Set<String> = ["scope", "description", "expiresIn", "ownerEmail"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw BatonError(.invalidInput, "unknown field '\(unknown)': a token takes \(known.sorted().joined(separator: ", "))", field: unknown)
        }
        func text(_ key: String) throws -> String? {
            guard let value = body[key], value != .null else { return nil }
            guard let text = value.stringValue else { throw BatonError(.invalidInput, "\(key) must be a string", field: key) }
            guard !text.unicodeScalars.contains("\u{0}"), text.count <= 1000 else { throw BatonError(.invalidInput, "\(key) must be at most 1000 characters, without NUL", field: key) }
            return text
        }
        let scope = try TokenScope(parsing: try text("scope") ?? "read")
        var expiresIn: Double?
        if let raw = body["expiresIn"], raw != .null {
            guard let seconds = raw.numberValue, seconds == seconds.rounded(), seconds >= 1, seconds <= Token.maxExpiresIn else {
                throw BatonError(.invalidInput, "expiresIn must be a whole number of seconds from 1 to \(Int(Token.maxExpiresIn)) (ten years)", field: "expiresIn")
            }
            expiresIn = seconds
        }
        let (token, secret) = try await store.createToken(projectId: call.token.projectId, scope: scope, description: try text("description") ?? "",
                                                          ownerEmail: try text("ownerEmail"), expiresIn: expiresIn)
        guard case .object(var object) = token.json else { throw BatonError(.internal, "token JSON") }
        object["secret"] = .string(secret)
        return json(.created, .object(object))
    }

    /// The calling token itself (Keboola's `tokens/verify`): its scope, expiry and last use.
    func verifyToken(_ call: Call) async throws -> Response {
        json(.ok, call.token.json)
    }

    func revokeToken(_ call: Call) async throws -> Response {
        guard let id = Int64(try call.path("id")), id > 0 else { throw BatonError(.invalidInput, "token id must be a positive integer", field: "id") }
        guard id != call.token.id else {
            throw BatonError(.conflict, "a token cannot revoke itself: use another admin token, or 'baton tokens revoke \(id)'", field: "id")
        }
        return json(.ok, try await store.revokeToken(id: id, projectId: call.token.projectId).json)
    }
}
