import BatonModel
import Foundation
import PostgresNIO

/// Projects, components and configurations.
extension Store {
    /// Executors of the given components, for validating configurations that refer to them.
    public func componentExecutors(_ keys: Set<ComponentKey>) async throws -> [ComponentKey: ExecutorSpec] {
        guard !keys.isEmpty else { return [:] }
        let projects = keys.map(\.projectId), ids = keys.map(\.componentId)
        let rows = try await client.query("""
            SELECT c.project_id, c.id, c.executor::text FROM components c
            JOIN unnest(\(projects)::text[], \(ids)::text[]) AS k(project_id, id) ON (c.project_id, c.id) = (k.project_id, k.id)
            """, logger: logger)
        var result: [ComponentKey: ExecutorSpec] = [:]
        for try await (project, id, executor) in rows.decode((String, String, String).self) {
            if case .success(let spec) = ExecutorSpec.parse(try JSONValue.parse(executor)) {
                result[ComponentKey(projectId: project, componentId: id)] = spec
            }
        }
        return result
    }

    public func projectIds() async throws -> Set<String> {
        var ids = Set<String>()
        for try await id in try await client.query("SELECT id FROM projects", logger: logger).decode(String.self) { ids.insert(id) }
        return ids
    }

    /// A project's name and limit, or nil.
    public func project(id: String) async throws -> (name: String, maxParallelJobs: Int)? {
        for try await (name, limit) in try await client.query("SELECT name, max_parallel_jobs FROM projects WHERE id = \(id)", logger: logger).decode((String, Int32).self) {
            return (name, Int(limit))
        }
        return nil
    }

    /// The ids of a project's notification subscriptions.
    public func notificationSubscriptionIds(projectId: String) async throws -> Set<String> {
        var ids = Set<String>()
        for try await id in try await client.query("SELECT id FROM notification_subscriptions WHERE project_id = \(projectId)", logger: logger).decode(String.self) {
            ids.insert(id)
        }
        return ids
    }

    /// Creates or updates everything in `set` in one transaction.
    public func apply(_ set: ApplySet) async throws {
        let logger = self.logger
        let secrets = self.secrets
        try await transaction { tx in
            for project in set.projects {
                try await tx.run("""
                    INSERT INTO projects (id, name, max_parallel_jobs) VALUES (\(project.id), \(project.name), \(project.maxParallelJobs))
                    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, max_parallel_jobs = EXCLUDED.max_parallel_jobs
                    """, logger: logger)
            }
            for component in set.components {
                let executor = try secrets.sealing(component.executor.json, projectId: component.projectId, field: "executor")
                try await tx.run("""
                    INSERT INTO components (project_id, id, executor, timeout_seconds)
                    VALUES (\(component.projectId), \(component.id), \(executor.jsonText)::jsonb, \(component.timeoutSeconds))
                    ON CONFLICT (project_id, id) DO UPDATE SET executor = EXCLUDED.executor, timeout_seconds = EXCLUDED.timeout_seconds, updated_time = now()
                    """, logger: logger)
            }
            for configuration in set.configurations + set.orchestrations.map(\.configuration) {
                let parameters = try secrets.sealing(configuration.parameters, projectId: configuration.projectId, field: "parameters")
                try await tx.run("""
                    INSERT INTO configurations (project_id, component_id, id, name, parameters)
                    VALUES (\(configuration.projectId), \(configuration.componentId), \(configuration.id), \(configuration.name), \(parameters.jsonText)::jsonb)
                    ON CONFLICT (project_id, component_id, id) DO UPDATE SET name = EXCLUDED.name, parameters = EXCLUDED.parameters, updated_time = now()
                    """, logger: logger)
            }
            for schedule in set.schedules {
                try await tx.run("""
                    INSERT INTO schedules (project_id, id, orchestration_id, cron, enabled, on_overlap)
                    VALUES (\(schedule.projectId), \(schedule.id), \(schedule.orchestrationId), \(schedule.cron.text), \(schedule.enabled), \(schedule.onOverlap.rawValue))
                    ON CONFLICT (project_id, id) DO UPDATE SET orchestration_id = EXCLUDED.orchestration_id, cron = EXCLUDED.cron,
                        enabled = EXCLUDED.enabled, on_overlap = EXCLUDED.on_overlap, updated_time = now()
                    """, logger: logger)
            }
            for notification in set.notifications {
                var secret: String?, timeout = 10.0
                if case .webhook(_, let key, let seconds) = notification.channel { secret = key; timeout = seconds }
                try await tx.run("""
                    INSERT INTO notification_subscriptions (project_id, id, orchestration_id, events, channel, target, secret,
                        timeout_seconds, processing_long_percent, waiting_long_minutes, enabled)
                    VALUES (\(notification.projectId), \(notification.id), \(notification.orchestrationId), \(notification.events.map(\.rawValue)),
                        \(notification.channel.type), \(notification.channel.target), \(secret), \(timeout),
                        \(notification.processingLongPercent), \(notification.waitingLongMinutes), \(notification.enabled))
                    ON CONFLICT (project_id, id) DO UPDATE SET orchestration_id = EXCLUDED.orchestration_id, events = EXCLUDED.events,
                        channel = EXCLUDED.channel, target = EXCLUDED.target, secret = EXCLUDED.secret, timeout_seconds = EXCLUDED.timeout_seconds,
                        processing_long_percent = EXCLUDED.processing_long_percent, waiting_long_minutes = EXCLUDED.waiting_long_minutes,
                        enabled = EXCLUDED.enabled, updated_time = now()
                    """, logger: logger)
            }
        }
    }

    /// A saved configuration with its component's executor, or nil.
    public func configuration(projectId: String, componentId: String, configId: String) async throws -> (parameters: JSONValue, executor: ExecutorSpec)? {
        let rows = try await client.query("""
            SELECT cf.parameters::text, c.executor::text FROM configurations cf
            JOIN components c ON (c.project_id, c.id) = (cf.project_id, cf.component_id)
            WHERE cf.project_id = \(projectId) AND cf.component_id = \(componentId) AND cf.id = \(configId)
            """, logger: logger)
        for try await (parameters, executor) in rows.decode((String, String).self) {
            guard case .success(let spec) = ExecutorSpec.parse(try JSONValue.parse(executor)) else { return nil }
            return (try JSONValue.parse(parameters), spec)
        }
        return nil
    }
}

extension Store {
    /// Creates database `name` unless it exists.
    public func createDatabase(_ name: String) async throws {
        var exists = false
        for try await _ in try await client.query("SELECT 1 FROM pg_database WHERE datname = \(name)", logger: logger) { exists = true }
        guard !exists else { return }
        // A database name cannot be a bind parameter; it is checked to be a plain identifier.
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw BatonError(.invalidInput, "database name '\(name)' must be letters, digits and '_'")
        }
        do {
            try await client.run(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\""), logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P04" {
            // created by a concurrent caller
        }
    }
}

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
                try await tx.run("DELETE FROM tokens WHERE project_id = \(projectId) AND orchestration_id = \(configId)", logger: logger)
            }
            try await tx.run("""
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
            try await tx.run("DELETE FROM components WHERE project_id = \(projectId) AND id = \(componentId)", logger: logger)
            return true
        }
    }
}
