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

    /// Creates or updates everything in `set` in one transaction.
    public func apply(_ set: ApplySet) async throws {
        let logger = self.logger
        try await client.withTransaction(logger: logger) { tx in
            for project in set.projects {
                try await tx.query("""
                    INSERT INTO projects (id, name, max_parallel_jobs) VALUES (\(project.id), \(project.name), \(project.maxParallelJobs))
                    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, max_parallel_jobs = EXCLUDED.max_parallel_jobs
                    """, logger: logger)
            }
            for component in set.components {
                try await tx.query("""
                    INSERT INTO components (project_id, id, executor, timeout_seconds)
                    VALUES (\(component.projectId), \(component.id), \(component.executor.json.jsonText)::jsonb, \(component.timeoutSeconds))
                    ON CONFLICT (project_id, id) DO UPDATE SET executor = EXCLUDED.executor, timeout_seconds = EXCLUDED.timeout_seconds, updated_time = now()
                    """, logger: logger)
            }
            for configuration in set.configurations + set.orchestrations.map(\.configuration) {
                try await tx.query("""
                    INSERT INTO configurations (project_id, component_id, id, name, parameters)
                    VALUES (\(configuration.projectId), \(configuration.componentId), \(configuration.id), \(configuration.name), \(configuration.parameters.jsonText)::jsonb)
                    ON CONFLICT (project_id, component_id, id) DO UPDATE SET name = EXCLUDED.name, parameters = EXCLUDED.parameters, updated_time = now()
                    """, logger: logger)
            }
            for schedule in set.schedules {
                try await tx.query("""
                    INSERT INTO schedules (project_id, id, orchestration_id, cron, enabled, on_overlap)
                    VALUES (\(schedule.projectId), \(schedule.id), \(schedule.orchestrationId), \(schedule.cron.text), \(schedule.enabled), \(schedule.onOverlap.rawValue))
                    ON CONFLICT (project_id, id) DO UPDATE SET orchestration_id = EXCLUDED.orchestration_id, cron = EXCLUDED.cron,
                        enabled = EXCLUDED.enabled, on_overlap = EXCLUDED.on_overlap, updated_time = now()
                    """, logger: logger)
            }
            for notification in set.notifications {
                var secret: String?, timeout = 10.0
                if case .webhook(_, let key, let seconds) = notification.channel { secret = key; timeout = seconds }
                try await tx.query("""
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
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\""), logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P04" {
            // created by a concurrent caller
        }
    }
}
