import BatonModel
import Foundation
import PostgresNIO

extension Store {
    /// Creates a token and returns it with its secret (shown once; only its SHA-256 is stored).
    /// `expiresIn` (seconds) makes it answer 401 after that long.
    public func createToken(projectId: String, scope: TokenScope, description: String, ownerEmail: String? = nil,
                            expiresIn: Double? = nil) async throws -> (Token, String) {
        if let ownerEmail {
            guard NotificationSpec.isEmailAddress(ownerEmail) else {
                throw BatonError(.invalidInput, "owner email '\(ownerEmail)' is not one address such as ana@example.com", field: "owner-email")
            }
        }
        if let expiresIn, !(expiresIn > 0 && expiresIn <= Token.maxExpiresIn) {
            throw BatonError(.invalidInput, "expiresIn must be a number of seconds from 1 to \(Int(Token.maxExpiresIn)) (ten years)", field: "expiresIn")
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
            INSERT INTO tokens (project_id, scope, orchestration_id, description, secret_sha256, owner_email, expires_time)
            VALUES (\(projectId), \(scope.column), \(scope.orchestrationId), \(description), sha256(convert_to(\(secret), 'UTF8')), \(ownerEmail),
                    now() + make_interval(secs => \(expiresIn)::float8))
            RETURNING \(unescaped: Self.tokenColumns)
            """, logger: logger)
        for try await row in rows {
            return (try Self.decodeToken(row), secret)
        }
        throw BatonError(.unavailable, "the token was not created")
    }

    static let tokenColumns = "id, project_id, scope, orchestration_id, description, created_time, expires_time, revoked_time, last_used_time"

    static func decodeToken(_ row: PostgresRow) throws -> Token {
        try token(row.decode((Int64, String, String, String?, String, Date, Date?, Date?, Date?).self))
    }

    static func token(_ columns: (Int64, String, String, String?, String, Date, Date?, Date?, Date?)) throws -> Token {
        let (id, project, scope, orchestration, description, created, expires, revoked, used) = columns
        guard let parsed = TokenScope(scope: scope, orchestrationId: orchestration) else {
            throw BatonError(.internal, "token \(id) has an unknown scope '\(scope)'")
        }
        return Token(id: id, projectId: project, scope: parsed, description: description, createdTime: created,
                     expiresTime: expires, revokedTime: revoked, lastUsedTime: used)
    }

    /// The token with this secret, or nil when none has it. A revoked or expired token throws
    /// `.unauthorized` saying so. A usable token's `last_used_time` is written, at most once a
    /// minute, by the same statement.
    public func token(secret: String) async throws -> Token? {
        let rows = try await client.query("""
            WITH found AS (
                SELECT \(unescaped: Self.tokenColumns),
                       revoked_time IS NULL AND (expires_time IS NULL OR expires_time > now()) AS usable
                FROM tokens WHERE secret_sha256 = sha256(convert_to(\(secret), 'UTF8'))
            ), touched AS (
                UPDATE tokens t SET last_used_time = now() FROM found f
                WHERE t.id = f.id AND f.usable AND (t.last_used_time IS NULL OR t.last_used_time < now() - interval '1 minute')
                RETURNING t.id
            )
            SELECT \(unescaped: Self.tokenColumns) FROM found
            """, logger: logger)
        for try await row in rows {
            let token = try Self.decodeToken(row)
            if let refusal = token.refusal() { throw BatonError(.unauthorized, refusal, field: "Authorization") }
            return token
        }
        return nil
    }

    /// The tokens of a project (every project when nil), oldest first; secrets are never kept.
    public func tokens(projectId: String?) async throws -> [Token] {
        let rows = try await client.query("""
            SELECT \(unescaped: Self.tokenColumns) FROM tokens
            WHERE \(projectId)::text IS NULL OR project_id = \(projectId)
            ORDER BY id
            """, logger: logger)
        var tokens: [Token] = []
        for try await row in rows { tokens.append(try Self.decodeToken(row)) }
        return tokens
    }

    /// Revokes token `id` (of `projectId`, when given) and ends its console sessions, in one
    /// transaction. Returns the token; throws `.notFound` for no such token, `.conflict` for an
    /// orchestration's own token or one already revoked.
    public func revokeToken(id: Int64, projectId: String? = nil) async throws -> Token {
        let logger = self.logger
        return try await transaction { tx in
            var found: Token?
            for try await row in try await tx.query("""
                SELECT \(unescaped: Store.tokenColumns) FROM tokens
                WHERE id = \(id) AND (\(projectId)::text IS NULL OR project_id = \(projectId)) FOR UPDATE
                """, logger: logger) { found = try Store.decodeToken(row) }
            guard var token = found else { throw BatonError(.notFound, "no token \(id)", field: "id") }
            if case .orchestration(let orchestrationId) = token.scope {
                throw BatonError(.conflict, "token \(id) is orchestration \(orchestrationId)'s own token: it goes with its orchestration", field: "id")
            }
            if token.revokedTime != nil { throw BatonError(.conflict, "token \(id) is already revoked", field: "id") }
            for try await time in try await tx.query("UPDATE tokens SET revoked_time = now() WHERE id = \(id) RETURNING revoked_time", logger: logger).decode(Date.self) {
                token.revokedTime = time
            }
            try await tx.run("DELETE FROM console_sessions WHERE token_id = \(id)", logger: logger)
            return token
        }
    }

    // MARK: - console sessions

    /// A new console session for `token`: returns its id (for the cookie; only its hash is
    /// stored) and its CSRF token. Expired sessions are cleared on the way.
    public func createConsoleSession(token: Token, lifetime: Double) async throws -> (id: String, csrf: String) {
        let id = Token.newSecret(prefix: "")
        let csrf = Token.newSecret(prefix: "")
        try await client.run("DELETE FROM console_sessions WHERE expires_time < now()", logger: logger)
        try await client.run("""
            INSERT INTO console_sessions (id_sha256, token_id, csrf_token, expires_time)
            VALUES (sha256(convert_to(\(id), 'UTF8')), \(token.id), \(csrf), now() + make_interval(secs => \(lifetime)::float8))
            """, logger: logger)
        return (id, csrf)
    }

    /// The session with this id and its token, while both are valid; nil otherwise.
    public func consoleSession(id: String) async throws -> (token: Token, csrf: String)? {
        let rows = try await client.query("""
            SELECT t.id, t.project_id, t.scope, t.orchestration_id, t.description, t.created_time, t.expires_time, t.revoked_time,
                   t.last_used_time, s.csrf_token
            FROM console_sessions s JOIN tokens t ON t.id = s.token_id
            WHERE s.id_sha256 = sha256(convert_to(\(id), 'UTF8')) AND s.expires_time > now()
              AND t.revoked_time IS NULL AND (t.expires_time IS NULL OR t.expires_time > now())
            """, logger: logger)
        for try await c in rows.decode((Int64, String, String, String?, String, Date, Date?, Date?, Date?, String).self) {
            return (try Self.token((c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7, c.8)), c.9)
        }
        return nil
    }

    /// Ends a session (logout).
    public func deleteConsoleSession(id: String) async throws {
        try await client.run("DELETE FROM console_sessions WHERE id_sha256 = sha256(convert_to(\(id), 'UTF8'))", logger: logger)
    }
}
