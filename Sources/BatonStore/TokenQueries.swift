import BatonModel
import Foundation
import PostgresNIO

extension Store {
    /// Creates a project (`baton projects create`); it gets the orchestrator component like every project.
    public func createProject(id: String, name: String?, maxParallelJobs: Int) async throws {
        guard Identifier.isValidProject(id) else {
            throw BatonError(.invalidInput, "project id '\(id)' \(Identifier.rule(maxLength: Identifier.projectMaxLength))", field: "id")
        }
        guard maxParallelJobs > 0 else { throw BatonError(.invalidInput, "max parallel jobs must be at least 1", field: "max-parallel-jobs") }
        var created = false
        for try await _ in try await client.query("""
            INSERT INTO projects (id, name, max_parallel_jobs) VALUES (\(id), \(name ?? id), \(Int32(maxParallelJobs)))
            ON CONFLICT (id) DO NOTHING RETURNING id
            """, logger: logger) { created = true }
        guard created else { throw BatonError(.conflict, "project '\(id)' already exists", field: "id") }
    }

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

    /// The orchestrations of a project: id, name and definition, by id.
    public func orchestrations(projectId: String) async throws -> [(id: String, name: String, definition: JSONValue, updated: Date)] {
        let rows = try await client.query("""
            SELECT id, name, parameters::text, updated_time FROM configurations
            WHERE project_id = \(projectId) AND component_id = \(ExecutorSpec.orchestratorComponentId) ORDER BY id
            """, logger: logger)
        var out: [(id: String, name: String, definition: JSONValue, updated: Date)] = []
        for try await (id, name, text, updated) in rows.decode((String, String, String, Date).self) {
            out.append((id, name, (try? JSONValue.parse(text)) ?? .null, updated))
        }
        return out
    }
}

extension Store {
    /// The components of a project, by id.
    public func components(projectId: String) async throws -> [(id: String, executor: JSONValue)] {
        let rows = try await client.query("SELECT id, executor::text FROM components WHERE project_id = \(projectId) ORDER BY id", logger: logger)
        var out: [(id: String, executor: JSONValue)] = []
        for try await (id, text) in rows.decode((String, String).self) { out.append((id, (try? JSONValue.parse(text)) ?? .null)) }
        return out
    }

    /// The configurations of a component, by id.
    public func configurations(projectId: String, componentId: String) async throws -> [(id: String, name: String, parameters: JSONValue)] {
        let rows = try await client.query("""
            SELECT id, name, parameters::text FROM configurations WHERE project_id = \(projectId) AND component_id = \(componentId) ORDER BY id
            """, logger: logger)
        var out: [(id: String, name: String, parameters: JSONValue)] = []
        for try await (id, name, text) in rows.decode((String, String, String).self) { out.append((id, name, (try? JSONValue.parse(text)) ?? .null)) }
        return out
    }
}

extension Store {
    /// Deletes a configuration (an orchestration is a configuration of keboola.orchestrator, and
    /// its own and trigger tokens go with it). Refused while it has jobs (they keep their
    /// configuration) or an orchestration's task uses it. Returns false when there was none.
    public func deleteConfiguration(projectId: String, componentId: String, configId: String) async throws -> Bool {
        let logger = self.logger
        return try await transaction { tx in
            // Lock the row first, so no job is created for it while we check.
            var exists = false
            for try await _ in try await tx.query("""
                SELECT 1 FROM configurations WHERE project_id = \(projectId) AND component_id = \(componentId) AND id = \(configId) FOR UPDATE
                """, logger: logger) { exists = true }
            guard exists else { return false }
            // Jobs keep their configuration (a foreign key): one with history stays until its jobs are gone.
            for try await (unfinished, all) in try await tx.query("""
                SELECT count(*) FILTER (WHERE status IN ('created', 'waiting', 'processing', 'terminating'))::int, count(*)::int
                FROM jobs WHERE project_id = \(projectId) AND component_id = \(componentId) AND config_id = \(configId)
                """, logger: logger).decode((Int32, Int32).self) where all > 0 {
                if unfinished > 0 {
                    throw BatonError(.conflict, "'\(configId)' has \(unfinished) unfinished job(s): kill them or wait for them first", field: "id")
                }
                throw BatonError(.conflict, "'\(configId)' has \(all) job(s) in its history, which keep their configuration: it can be deleted once they are pruned", field: "id")
            }
            for try await orchestration in try await tx.query("""
                SELECT o.id FROM configurations o, jsonb_array_elements(coalesce(o.parameters->'tasks', '[]')) t
                WHERE o.project_id = \(projectId) AND o.component_id = 'keboola.orchestrator'
                  AND t->'task'->>'componentId' = \(componentId) AND t->'task'->>'configId' = \(configId)
                LIMIT 1
                """, logger: logger).decode(String.self) {
                throw BatonError(.conflict, "orchestration '\(orchestration)' has a task that runs '\(configId)': change the orchestration first", field: "id")
            }
            if componentId == ExecutorSpec.orchestratorComponentId {
                try await tx.query("DELETE FROM tokens WHERE project_id = \(projectId) AND orchestration_id = \(configId)", logger: logger)
            }
            try await tx.query("""
                DELETE FROM configurations WHERE project_id = \(projectId) AND component_id = \(componentId) AND id = \(configId)
                """, logger: logger)
            return true
        }
    }

    /// Deletes a component without configurations. Returns false when there was none.
    public func deleteComponent(projectId: String, componentId: String) async throws -> Bool {
        guard componentId != ExecutorSpec.orchestratorComponentId else {
            throw BatonError(.invalidInput, "the orchestrator component belongs to every project and cannot be deleted", field: "component")
        }
        let logger = self.logger
        return try await transaction { tx in
            var exists = false
            for try await _ in try await tx.query("SELECT 1 FROM components WHERE project_id = \(projectId) AND id = \(componentId) FOR UPDATE", logger: logger) { exists = true }
            guard exists else { return false }
            for try await n in try await tx.query("""
                SELECT count(*)::int FROM configurations WHERE project_id = \(projectId) AND component_id = \(componentId)
                """, logger: logger).decode(Int32.self) where n > 0 {
                throw BatonError(.conflict, "component '\(componentId)' has \(n) configuration(s): delete them first", field: "component")
            }
            try await tx.query("DELETE FROM components WHERE project_id = \(projectId) AND id = \(componentId)", logger: logger)
            return true
        }
    }

    /// A transaction whose own errors (BatonError) come out as they are, not wrapped.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { try await body($0) }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError as? BatonError { throw inner }
            throw error
        }
    }

    /// Jobs by status (and, for waiting ones, reason), for /metrics.
    public func queueDepth() async throws -> [(projectId: String, status: String, reason: String?, count: Int)] {
        let rows = try await client.query("""
            SELECT project_id, status::text, waiting_reason, count(*)::bigint FROM jobs
            WHERE status IN ('created', 'waiting', 'processing', 'terminating')
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """, logger: logger)
        var out: [(projectId: String, status: String, reason: String?, count: Int)] = []
        for try await (project, status, reason, count) in rows.decode((String, String, String?, Int64).self) {
            out.append((project, status, reason, Int(count)))
        }
        return out
    }
}
