import BatonModel
import Foundation
import PostgresNIO

/// What a firing did.
public struct Firing: Sendable, Hashable {
    public var fireTime: Date
    public var outcome: String
    public var jobId: Int64?
}

extension Store {
    /// Schedules, by project and id (all projects when `projectId` is nil).
    public func schedules(projectId: String? = nil) async throws -> [ScheduleRow] {
        let rows = try await client.query("""
            SELECT s.project_id, s.id, s.orchestration_id, s.cron, s.enabled, s.on_overlap, s.updated_time,
                   (SELECT max(f.fire_time) FROM schedule_firings f WHERE f.project_id = s.project_id AND f.schedule_id = s.id)
            FROM schedules s WHERE (\(projectId)::text IS NULL OR s.project_id = \(projectId)) ORDER BY 1, 2
            """, logger: logger)
        var out: [ScheduleRow] = []
        for try await (project, id, orchestration, cron, enabled, overlap, updated, last) in rows.decode((String, String, String, String, Bool, String, Date, Date?).self) {
            out.append(ScheduleRow(projectId: project, id: id, orchestrationId: orchestration, cron: cron, enabled: enabled,
                                   onOverlap: overlap, updated: updated, lastFireTime: last))
        }
        return out
    }

    /// Enables or disables a schedule; slots that pass while it is disabled are never fired.
    public func setScheduleEnabled(projectId: String, id: String, enabled: Bool) async throws {
        var found = false
        for try await _ in try await client.query("""
            UPDATE schedules SET enabled = \(enabled), updated_time = now() WHERE project_id = \(projectId) AND id = \(id) RETURNING id
            """, logger: logger) { found = true }
        guard found else { throw BatonError(.notFound, "no schedule '\(id)' in project '\(projectId)' ('baton schedules list' shows them)", field: "id") }
    }

    /// Fires slot `fireTime` of a schedule, once: the firing row's key (schedule, fire time)
    /// refuses a second one, from another coordinator or a retry. In one transaction with the
    /// firing: the orchestration's unfinished runs are locked and `decide` (the schedule's
    /// onOverlap rule) says whether to start the run (a snapshot of `definition` with `selected`
    /// tasks, initializedBy schedule) and which waiting runs to cancel first. Returns nil when the
    /// slot had fired already.
    public func fireSchedule(projectId: String, scheduleId: String, orchestrationId: String, fireTime: Date,
                             decide: @Sendable ([(id: Int64, status: JobStatus)]) -> (create: Bool, cancel: [Int64], outcome: String),
                             definition: JSONValue, selected: [String]) async throws -> Firing? {
        let component = ExecutorSpec.orchestratorComponentId
        return try await transaction { tx in
            var inserted = false
            for try await _ in try await tx.query("""
                INSERT INTO schedule_firings (project_id, schedule_id, fire_time, outcome)
                VALUES (\(projectId), \(scheduleId), \(fireTime), 'created')
                ON CONFLICT DO NOTHING RETURNING fire_time
                """, logger: logger) { inserted = true }
            guard inserted else { return nil }
            var unfinished: [(id: Int64, status: JobStatus)] = []
            for try await (id, status) in try await tx.query("""
                SELECT id, status::text FROM jobs
                WHERE project_id = \(projectId) AND component_id = \(component) AND config_id = \(orchestrationId)
                  AND status IN ('created', 'waiting', 'processing', 'terminating')
                ORDER BY id FOR UPDATE
                """, logger: logger).decode((Int64, String).self) { unfinished.append((id, JobStatus(rawValue: status) ?? .processing)) }
            let decision = decide(unfinished)
            guard decision.create else {
                try await tx.run("""
                    UPDATE schedule_firings SET outcome = \(decision.outcome)
                    WHERE project_id = \(projectId) AND schedule_id = \(scheduleId) AND fire_time = \(fireTime)
                    """, logger: logger)
                return Firing(fireTime: fireTime, outcome: decision.outcome, jobId: nil)
            }
            for id in decision.cancel { try await tx.query("SELECT kill_job(\(id))", logger: logger) }
            let outcome = decision.outcome
            var jobId: Int64?
            for try await id in try await tx.query("""
                INSERT INTO jobs (project_id, component_id, config_id, type, parameters, executor, only_orchestration_task_ids, initialized_by)
                VALUES (\(projectId), \(component), \(orchestrationId), 'orchestrationContainer', \(definition.jsonText)::jsonb,
                        '{"type": "orchestrator"}'::jsonb, \(selected)::text[], 'schedule')
                RETURNING id
                """, logger: logger).decode(Int64.self) { jobId = id }
            try await tx.run("""
                UPDATE schedule_firings SET outcome = \(outcome), job_id = \(jobId)
                WHERE project_id = \(projectId) AND schedule_id = \(scheduleId) AND fire_time = \(fireTime)
                """, logger: logger)
            return Firing(fireTime: fireTime, outcome: outcome, jobId: jobId)
        }
    }

    /// The firings of a schedule, oldest first.
    public func firings(projectId: String, scheduleId: String) async throws -> [Firing] {
        let rows = try await client.query("""
            SELECT fire_time, outcome, job_id FROM schedule_firings WHERE project_id = \(projectId) AND schedule_id = \(scheduleId) ORDER BY fire_time
            """, logger: logger)
        var out: [Firing] = []
        for try await (time, outcome, job) in rows.decode((Date, String, Int64?).self) { out.append(Firing(fireTime: time, outcome: outcome, jobId: job)) }
        return out
    }
}
