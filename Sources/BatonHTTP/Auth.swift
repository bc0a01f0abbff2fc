import BatonModel
import BatonStore
import Hummingbird

// Who is calling and what they may do. A token reaches only its project: every handler queries
// by the token's project, and `visibleJob` hides other projects' jobs as if they did not exist.

extension API {
    /// The token of `Authorization: Bearer TOKEN` or `X-StorageApi-Token: TOKEN`.
    func authenticate(_ request: Request) async throws -> Token {
        var secret: String?
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { secret = String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        if secret == nil, let field = request.headers.first(where: { $0.name.canonicalName == "x-storageapi-token" }) { secret = field.value }
        guard let secret, !secret.isEmpty else {
            throw BatonError(.unauthorized, "no token: send 'Authorization: Bearer TOKEN' (make one with 'baton tokens create')", field: "Authorization")
        }
        return try await token(secret: secret)
    }

    /// The token with this secret.
    func token(secret: String) async throws -> Token {
        guard secret.count <= 200, let token = try await store.token(secret: secret) else {
            throw BatonError(.unauthorized, "unknown token", field: "Authorization")
        }
        return token
    }

    /// Whether `token` may call `route` (its scope and, for a trigger token, its orchestration).
    func authorize(_ token: Token, for route: Route, parameters: Parameters) throws {
        switch token.scope {
        case .admin:
            return
        case .read:
            guard route.scope == .read else { throw BatonError(.forbidden, "a read token can only read (GET)", field: "Authorization") }
        case .trigger(let orchestrationId):
            let allowed = switch route.trigger {
            case .refused: false
            case .itsRuns: true
            case .itsOrchestration: parameters.get("id") == orchestrationId
            }
            guard allowed else {
                throw BatonError(.forbidden, "this token may only run orchestration '\(orchestrationId)' and read its runs", field: "Authorization")
            }
        case .orchestration:
            throw BatonError(.forbidden, "an orchestration's own token is not for API calls", field: "Authorization")
        }
    }

    /// The job, if this token may see it (404 otherwise, the same as a job that does not exist).
    func visibleJob(_ id: Int64, _ token: Token) async throws -> Job {
        guard let job = try await store.job(id: id), job.projectId == token.projectId else {
            throw BatonError(.notFound, "no job \(id)", field: "id")
        }
        if case .trigger(let orchestrationId) = token.scope {
            let runConfig: String?
            if job.isOrchestration { runConfig = job.configId }
            else if let parent = job.orchestrationJobId { runConfig = try await store.job(id: parent)?.configId }
            else { runConfig = nil }
            guard runConfig == orchestrationId else { throw BatonError(.notFound, "no job \(id)", field: "id") }
        }
        return job
    }
}
