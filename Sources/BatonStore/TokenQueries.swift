import BatonModel
import Foundation
import PostgresNIO

extension Store {
    /// Creates a token and returns it with its secret (shown once; only its SHA-256 is stored).
    public func createToken(projectId: String, scope: TokenScope, description: String, ownerEmail: String? = nil) async throws -> (Token, String) {
        if let ownerEmail {
            guard NotificationSpec.isEmailAddress(ownerEmail) else {
                throw BatonError(.invalidInput, "owner email '\(ownerEmail)' is not one address such as ana@example.com", field: "owner-email")
            }
        }
        guard try await projectIds().contains(projectId) else {
            throw BatonError(.notFound, "no project '\(projectId)': create it first ('baton projects create \(projectId)')", field: "project")
        }
        if case .orchestration = scope {
            throw BatonError(.invalidInput, "orchestration tokens are made with their orchestration", field: "scope")
        }
        if let orchestrationId = scope.orchestrationId,
           try await configuration(projectId: projectId, componentId: ExecutorSpec.orchestratorComponentId, configId: orchestrationId) == nil {
            throw BatonError(.notFound, "no orchestration '\(orchestrationId)' in project '\(projectId)'", field: "scope")
        }
        let secret = Token.newSecret()
        let rows = try await client.query("""
            INSERT INTO tokens (project_id, scope, orchestration_id, description, secret_sha256, owner_email)
            VALUES (\(projectId), \(scope.column), \(scope.orchestrationId), \(description), sha256(convert_to(\(secret), 'UTF8')), \(ownerEmail))
            RETURNING id
            """, logger: logger)
        for try await id in rows.decode(Int64.self) {
            return (Token(id: id, projectId: projectId, scope: scope, description: description), secret)
        }
        throw BatonError(.unavailable, "the token was not created")
    }

    /// The token with this secret, or nil.
    public func token(secret: String) async throws -> Token? {
        let rows = try await client.query("""
            SELECT id, project_id, scope, orchestration_id, description FROM tokens
            WHERE secret_sha256 = sha256(convert_to(\(secret), 'UTF8'))
            """, logger: logger)
        for try await (id, project, scope, orchestration, description) in rows.decode((Int64, String, String, String?, String).self) {
            guard let scope = TokenScope(scope: scope, orchestrationId: orchestration) else { return nil }
            return Token(id: id, projectId: project, scope: scope, description: description)
        }
        return nil
    }

}
