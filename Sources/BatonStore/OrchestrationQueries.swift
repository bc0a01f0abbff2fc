import BatonModel
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// A task's job the coordinator is to create.
public struct ChildSpec: Sendable, Hashable {
    public var taskId: String
    public var phaseId: String
    public var componentId: String
    public var configId: String
    public var mode: String
    /// Overrides of the configuration's top-level parameters.
    public var parameters: JSONValue?
    public var timeoutSeconds: Double?
    public var retries: Int
    public var retryDelaySeconds: Double

    public init(taskId: String, phaseId: String, componentId: String, configId: String, mode: String, parameters: JSONValue?,
                timeoutSeconds: Double? = nil, retries: Int = 0, retryDelaySeconds: Double = 10) {
        self.taskId = taskId; self.phaseId = phaseId; self.componentId = componentId
        self.configId = configId; self.mode = mode; self.parameters = parameters; self.timeoutSeconds = timeoutSeconds
        self.retries = retries; self.retryDelaySeconds = retryDelaySeconds
    }
}

/// What the coordinator reads of a run to advance it.
public struct RunHeader: Sendable {
    public var id: Int64
    public var runId: String
    public var projectId: String
    public var selected: [String]
    /// Someone asked to kill the run: start nothing more; end it once no task job runs.
    public var terminating: Bool
    /// The definition snapshot, read only when asked for (it never changes, so callers cache it).
    public var definition: JSONValue?
}

/// What one advancement of a run does: create these tasks' jobs, and/or end the run.
public struct RunStep: Sendable {
    public var start: [ChildSpec] = []
    public var finish: (status: JobStatus, result: JSONValue)?

    public init(start: [ChildSpec] = [], finish: (status: JobStatus, result: JSONValue)? = nil) {
        self.start = start
        self.finish = finish
    }
}

extension Store {
    /// Which of these (component, configuration) pairs of a project exist.
    public func existingConfigurations(projectId: String, _ pairs: [(String, String)]) async throws -> Set<[String]> {
        guard !pairs.isEmpty else { return [] }
        let rows = try await client.query("""
            SELECT cf.component_id, cf.id FROM configurations cf
            JOIN unnest(\(pairs.map(\.0))::text[], \(pairs.map(\.1))::text[]) AS k(component_id, id)
              ON (cf.component_id, cf.id) = (k.component_id, k.id)
            WHERE cf.project_id = \(projectId)
            """, logger: logger)
        var found = Set<[String]>()
        for try await (component, config) in rows.decode((String, String).self) { found.insert([component, config]) }
        return found
    }

    /// Creates an orchestration run (the parent job) with a snapshot of the definition and the
    /// selected tasks. A run queued behind an unfinished run of the same orchestration waits.
    public func createRun(projectId: String, orchestrationId: String, definition: JSONValue, selected: [String],
                          previousJobId: Int64? = nil, tokenId: Int64? = nil, initializedBy: String = "manual") async throws -> Job {
        let component = ExecutorSpec.orchestratorComponentId
        let rows = try await client.query("""
            INSERT INTO jobs (project_id, component_id, config_id, type, parameters, executor, only_orchestration_task_ids,
                              previous_job_id, token_id, initialized_by)
            VALUES (\(projectId), \(component), \(orchestrationId), 'orchestrationContainer', \(definition.jsonText)::jsonb,
                    '{"type": "orchestrator"}'::jsonb, \(selected)::text[], \(previousJobId), \(tokenId), \(initializedBy))
            RETURNING \(unescaped: Store.jobColumns)
            """, logger: logger)
        for try await row in rows { return try Store.decodeJob(row) }
        throw BatonError(.unavailable, "the run was not created")
    }

    /// The task jobs of an orchestration run.
    public func children(of parentId: Int64) async throws -> [Job] {
        let rows = try await client.query("SELECT \(unescaped: Store.jobColumns) FROM jobs WHERE orchestration_job_id = \(parentId) ORDER BY id", logger: logger)
        var jobs: [Job] = []
        for try await row in rows { jobs.append(try Store.decodeJob(row)) }
        return jobs
    }

    /// Leases one connection for the coordinator for the duration of `body`.
    public func withCoordinatorSession<T: Sendable>(coordinatorId: String, _ body: (CoordinatorSession) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await client.withConnection { connection in
            try await body(CoordinatorSession(connection: connection, logger: logger, coordinatorId: coordinatorId))
        }
    }
}

/// The term a coordinator session leads in (nil: it does not lead).
final class HeldTerm: Sendable {
    private let value = Mutex<Int64?>(nil)
    func withLock<T>(_ body: (inout Int64?) -> T) -> T { value.withLock { body(&$0) } }
}

/// The coordinator's statements. Leadership is a row of `leaders` with a term (a fencing token,
/// sql/functions/leaders.sql), not state of this connection: every statement stands alone, so
/// the coordinator works through a pooler in transaction mode.
public struct CoordinatorSession: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    public let coordinatorId: String
    /// The term this coordinator leads in, once it took the lead.
    let held = HeldTerm()
    static let leadership = "coordinator"

    /// The connection was closed (a terminated backend, a restarted server): lease a new one.
    public func checkOpen() throws {
        if connection.isClosed { throw BatonError(.unavailable, "the coordinator's database connection was closed") }
    }
    /// Orchestration runs hold a lease the active coordinator renews on every turn.
    public static let runLeaseSeconds = 60.0

    /// The term this coordinator leads in, or nil.
    public var term: Int64? { held.withLock { $0 } }

    /// Takes the leadership for `leaseSeconds` if it is free (no leader, a lease that ran out, a
    /// leader that resigned) or already this coordinator's; returns the new term, or nil while
    /// another coordinator leads. A coordinator that dies hands over when its lease runs out.
    public func tryLead(leaseSeconds: Double) async throws -> Int64? {
        let term = try await connection.guarded { [self] () -> Int64? in
            for try await term in try await connection.query(
                "SELECT take_lead(\(Self.leadership), \(coordinatorId), \(leaseSeconds))", logger: logger).decode(Int64?.self) {
                return term
            }
            return nil
        }
        held.withLock { $0 = term }
        return term
    }

    /// Renews the lease of this coordinator's term; false when another coordinator took over.
    public func keepLead(leaseSeconds: Double) async throws -> Bool {
        guard let term else { return false }
        let kept = try await connection.guarded { [self] () -> Bool in
            for try await kept in try await connection.query(
                "SELECT keep_lead(\(Self.leadership), \(coordinatorId), \(term), \(leaseSeconds))", logger: logger).decode(Bool.self) {
                return kept
            }
            return false
        }
        if !kept { held.withLock { $0 = nil } }
        return kept
    }

    /// Ends this coordinator's term at once, so a standby takes over at its next try.
    public func resign() async throws {
        guard let term, !connection.isClosed else { return }
        held.withLock { $0 = nil }
        _ = try await connection.guarded { [self] in
            try await connection.run("SELECT resign_lead(\(Self.leadership), \(coordinatorId), \(term))", logger: logger)
        }
    }

    /// The first statement of a step: locks the leadership row while the term is this
    /// coordinator's (a take-over waits for the step), else throws: the step changes nothing.
    func fence(_ tx: PostgresConnection) async throws {
        guard let term else { throw BatonError(.unavailable, "this coordinator does not lead") }
        do {
            try await tx.run("SELECT lead_fence(\(Self.leadership), \(coordinatorId), \(term))", logger: logger)
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "BT001" {
            held.withLock { $0 = nil }
            throw BatonError(.unavailable, "leadership lost: another coordinator took over")
        }
    }

    /// Starts waiting orchestration runs, serialized per orchestration; fenced by the term.
    public func startRuns(limit: Int) async throws -> [Job] {
        try await connection.guarded { [self] in
            do {
                return try await connection.withTransaction(logger: logger) { tx in
                    try await fence(tx)
                    let rows = try await tx.query("""
                        SELECT \(unescaped: Store.jobColumns) FROM claim_jobs(\(coordinatorId), \(Int32(limit)), NULL::text[], \(Self.runLeaseSeconds), true)
                        """, logger: logger)
                    var jobs: [Job] = []
                    for try await row in rows { jobs.append(try Store.decodeJob(row)) }
                    return jobs
                }
            } catch let error as PostgresTransactionError {
                throw error.closureError ?? error.commitError ?? error.beginError ?? error
            }
        }
    }

    /// Ids of runs in progress, oldest first (a read: no commit to wait for on the hand-off path).
    public func runningRuns() async throws -> [Int64] {
        try await connection.guarded { [self] in
            let rows = try await connection.query("""
                SELECT id FROM jobs WHERE type = 'orchestrationContainer' AND status IN ('processing', 'terminating') ORDER BY id
                """, logger: logger)
            var ids: [Int64] = []
            for try await id in rows.decode(Int64.self) { ids.append(id) }
            return ids
        }
    }

    /// One advancement of a run, in one transaction: checks the term (nil when it no longer
    /// holds: the step changes nothing), locks the parent, reads its task jobs' statuses,
    /// asks `decide` what to do, creates the jobs it names (a unique key on (run, task) makes a
    /// repeated step harmless) and ends the run when told, or as `whenMissing` says when a task's
    /// configuration has disappeared.
    @discardableResult
    public func advance(runId: Int64, withDefinition: Bool, decide: @escaping @Sendable (RunHeader, [String: JobStatus]) -> RunStep,
                        whenMissing: @escaping @Sendable ([ChildSpec]) -> (status: JobStatus, result: JSONValue)) async throws -> RunStep? {
        try await connection.guarded { [self] in
            let logger = self.logger
            do {
                return try await connection.withTransaction(logger: logger) { tx -> RunStep? in
                    // One round trip reads the run and its task jobs' statuses, locks the run, and turns
                    // off waiting for this commit's flush. That is safe: a lost advancement is derived
                    // again from the durable task jobs, and a worker's claim of a child (a synchronous
                    // commit) flushes the WAL that created it.
                    var parent: RunHeader?
                    var children: [String: JobStatus] = [:]
                    // The leadership row is locked FOR SHARE while the term is ours (the fence,
                    // sql/functions/leaders.sql); a coordinator taken over from finds no run.
                    let rows = try await tx.query("""
                        WITH fence AS (
                            SELECT 1 FROM leaders WHERE name = \(Self.leadership) AND holder = \(coordinatorId) AND term = \(term ?? -1)
                                                    AND expires > clock_timestamp() FOR SHARE
                        ), run AS (
                            SELECT id, run_id, project_id, coalesce(only_orchestration_task_ids, '{}') AS selected,
                                   desired_status = 'terminating' AS terminating,
                                   CASE WHEN \(withDefinition) THEN parameters::text END AS definition
                            FROM jobs WHERE id = \(runId) AND status IN ('processing', 'terminating') AND EXISTS (SELECT 1 FROM fence) FOR UPDATE
                        )
                        SELECT run.id, run.run_id, run.project_id, run.selected, run.terminating, run.definition,
                               coalesce((SELECT array_agg(orchestration_task_id ORDER BY id) FROM jobs WHERE orchestration_job_id = run.id), '{}'),
                               coalesce((SELECT array_agg(status::text ORDER BY id) FROM jobs WHERE orchestration_job_id = run.id), '{}'),
                               set_config('synchronous_commit', 'off', true)
                        FROM run
                        """, logger: logger)
                    for try await (id, run, project, selected, terminating, definition, tasks, statuses, _) in rows.decode((Int64, String, String, [String], Bool, String?, [String], [String], String).self) {
                        parent = RunHeader(id: id, runId: run, projectId: project, selected: selected, terminating: terminating, definition: try definition.map(JSONValue.parse))
                        for (task, status) in zip(tasks, statuses) { children[task] = JobStatus(rawValue: status) }
                    }
                    guard let parent else { return nil }
                    var step = decide(parent, children)
                    if !step.start.isEmpty {
                        let specs = step.start
                        let rows = try await tx.query("""
                            INSERT INTO jobs (project_id, component_id, config_id, mode, config_data, parameters, executor, parent_run_id,
                                              orchestration_job_id, orchestration_task_id, orchestration_phase_id, timeout_seconds,
                                              retries, retry_delay_seconds)
                            SELECT cf.project_id, cf.component_id, cf.id, t.mode, nullif(t.params, 'null'::jsonb),
                                   cf.parameters || coalesce(nullif(t.params, 'null'::jsonb), '{}'::jsonb), c.executor,
                                   \(parent.runId), \(parent.id), t.task_id, t.phase_id,
                                   coalesce(nullif(t.timeout, 0), c.timeout_seconds), t.retries, t.retry_delay
                            FROM unnest(\(specs.map(\.taskId))::text[], \(specs.map(\.phaseId))::text[], \(specs.map(\.componentId))::text[],
                                        \(specs.map(\.configId))::text[], \(specs.map(\.mode))::text[], \(specs.map { $0.parameters?.jsonText ?? "null" })::jsonb[],
                                        \(specs.map { $0.timeoutSeconds ?? 0 })::float8[], \(specs.map { Int32($0.retries) })::integer[],
                                        \(specs.map(\.retryDelaySeconds))::float8[])
                                 AS t(task_id, phase_id, component_id, config_id, mode, params, timeout, retries, retry_delay)
                            JOIN configurations cf ON (cf.project_id, cf.component_id, cf.id) = (\(parent.projectId), t.component_id, t.config_id)
                            JOIN components c ON (c.project_id, c.id) = (cf.project_id, cf.component_id)
                            ON CONFLICT (orchestration_job_id, orchestration_task_id) WHERE orchestration_job_id IS NOT NULL DO NOTHING
                            RETURNING orchestration_task_id
                            """, logger: logger)
                        var created = Set<String>()
                        for try await id in rows.decode(String.self) { created.insert(id) }
                        let missing = specs.filter { !created.contains($0.taskId) }
                        if !missing.isEmpty && step.finish == nil { step.finish = whenMissing(missing) }
                    }
                    if let finish = step.finish {
                        try await tx.run("""
                            UPDATE jobs SET status = \(finish.status.rawValue)::job_status, end_time = clock_timestamp(),
                                   duration_seconds = extract(epoch FROM clock_timestamp() - start_time),
                                   result = \(finish.result.jsonText)::jsonb, lease_expires = NULL
                            WHERE id = \(runId) AND status IN ('processing', 'terminating')
                            """, logger: logger)
                        try await tx.run("SELECT pg_notify('baton_jobs', 'finished')", logger: logger)
                    }
                    return step
                }
            } catch let error as PostgresTransactionError {
                throw error.closureError ?? error.commitError ?? error.beginError ?? error
            }
        }
    }
}

extension Store {
    /// Ends or re-queues jobs whose lease ran out (`rescue_expired_leases`).
    public func rescueExpiredLeases() async throws -> [(jobId: Int64, outcome: String)] {
        var rescued: [(Int64, String)] = []
        for try await row in try await client.query("SELECT job_id, outcome FROM rescue_expired_leases()", logger: logger).decode((Int64, String).self) {
            rescued.append(row)
        }
        return rescued
    }

    /// Renews the leases of the orchestration runs in progress and records `coordinatorId` as their runner.
    public func renewRunLeases(coordinatorId: String, leaseSeconds: Double) async throws {
        try await client.run("""
            UPDATE jobs SET heartbeat_time = clock_timestamp(), lease_expires = clock_timestamp() + make_interval(secs => \(leaseSeconds)),
                            worker_id = \(coordinatorId)
            WHERE type = 'orchestrationContainer' AND status IN ('processing', 'terminating')
            """, logger: logger)
    }

    /// The latest run of each orchestration of a project, by orchestration id, in one query.
    public func latestRuns(projectId: String) async throws -> [String: Job] {
        let rows = try await client.query("""
            SELECT DISTINCT ON (config_id) \(unescaped: Store.jobColumns) FROM jobs
            WHERE project_id = \(projectId) AND component_id = \(ExecutorSpec.orchestratorComponentId)
            ORDER BY config_id, id DESC
            """, logger: logger)
        var out: [String: Job] = [:]
        for try await row in rows {
            let job = try Store.decodeJob(row)
            out[job.configId] = job
        }
        return out
    }
}
