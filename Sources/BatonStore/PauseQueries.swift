import BatonModel
import Foundation
import PostgresNIO

extension Store {
    /// Pauses a project, component or configuration (`pause_scope`): its queued jobs wait with
    /// reason `paused`, in the same transaction. Returns whether the pause is new (pausing a
    /// paused scope again changes nothing) and how many jobs it holds now.
    public func pause(_ scope: PauseScope, by: String) async throws -> (created: Bool, jobs: Int) {
        try await requireProject(scope.projectId)
        let rows = try await client.query("""
            SELECT created, jobs FROM pause_scope(\(scope.projectId), \(scope.componentId), \(scope.configId), \(by))
            """, logger: logger)
        for try await (created, jobs) in rows.decode((Bool, Int32).self) { return (created, Int(jobs)) }
        throw BatonError(.unavailable, "the pause was not recorded")
    }

    /// Lifts the pause of exactly this scope (`resume_scope`); its jobs that no other pause
    /// holds are queued again and the workers told. Returns whether there was such a pause and
    /// how many jobs were released.
    public func resume(_ scope: PauseScope) async throws -> (existed: Bool, jobs: Int) {
        let rows = try await client.query("""
            SELECT existed, jobs FROM resume_scope(\(scope.projectId), \(scope.componentId), \(scope.configId))
            """, logger: logger)
        for try await (existed, jobs) in rows.decode((Bool, Int32).self) { return (existed, Int(jobs)) }
        throw BatonError(.unavailable, "the resume was not recorded")
    }

    /// The pauses in force (of one project, or all), with the jobs each holds now.
    public func pauses(projectId: String? = nil) async throws -> [Pause] {
        let rows = try await client.query("""
            SELECT s.id, s.project_id, s.component_id, s.config_id, s.paused_time, s.paused_by,
                   (SELECT count(*)::int FROM jobs j
                    WHERE j.project_id BETWEEN s.project_id AND s.project_id AND j.status = 'waiting' AND j.waiting_reason = 'paused'
                      AND (s.component_id IS NULL OR j.component_id = s.component_id) AND (s.config_id IS NULL OR j.config_id = s.config_id))
            FROM pauses s WHERE \(projectId)::text IS NULL OR s.project_id = \(projectId)
            ORDER BY s.project_id, s.component_id NULLS FIRST, s.config_id NULLS FIRST
            """, logger: logger)
        var pauses: [Pause] = []
        for try await (id, project, component, config, time, by, waiting) in rows.decode((Int64, String, String?, String?, Date, String, Int32).self) {
            pauses.append(Pause(id: id, scope: try PauseScope(projectId: project, componentId: component, configId: config),
                                pausedTime: time, pausedBy: by, waitingJobs: Int(waiting)))
        }
        return pauses
    }

    /// Throws a clear error when the project does not exist.
    func requireProject(_ projectId: String) async throws {
        for try await _ in try await client.query("SELECT 1 FROM projects WHERE id = \(projectId)", logger: logger) { return }
        throw BatonError(.notFound, "project '\(projectId)' does not exist: create it with 'baton projects create \(projectId)'", field: "project")
    }
}
