import BatonModel
import Foundation
import PostgresNIO
import Synchronization

/// Filters of `jobs list` and the API's job search.
public struct JobFilter: Sendable {
    public var projectId: String?
    public var statuses: [JobStatus] = []
    public var componentId: String?
    public var configId: String?
    public var parentRunId: String?
    public var ids: [Int64]?
    public var limit: Int = 100
    public var offset: Int = 0
    public var createdFrom: Date? = nil
    public var createdTo: Date? = nil
    /// A run of this orchestration, or a task of one (trigger tokens read only these).
    public var orchestrationId: String? = nil
    public var sortBy: SortKey = .id
    public var ascending = false
    /// What started the job: manual, schedule or api.
    public var initializedBy: String? = nil
    /// A job id or run id: that job and, for a run id, the jobs under it.
    public var run: String? = nil
    /// Only jobs no other job started (plain jobs and orchestration runs).
    public var rootsOnly = false
    /// Only jobs no later job retried.
    public var notRetried = false

    /// Columns jobs can be sorted by (Keboola's sortBy values).
    public enum SortKey: String, Sendable, CaseIterable {
        case id, createdTime, startTime, endTime, durationSeconds
        var column: String {
            switch self {
            case .id: "id"
            case .createdTime: "created_time"
            case .startTime: "start_time"
            case .endTime: "end_time"
            case .durationSeconds: "duration_seconds"
            }
        }
    }

    public init(projectId: String? = nil, statuses: [JobStatus] = [], componentId: String? = nil, configId: String? = nil,
                parentRunId: String? = nil, ids: [Int64]? = nil, limit: Int = 100, offset: Int = 0) {
        self.projectId = projectId; self.statuses = statuses; self.componentId = componentId; self.configId = configId
        self.parentRunId = parentRunId; self.ids = ids; self.limit = limit; self.offset = offset
    }
}

/// A finished job as a worker reports it.
public struct JobOutcome: Sendable {
    public var id: Int64
    public var attempt: Int
    public var status: JobStatus
    public var result: JSONValue

    public init(id: Int64, attempt: Int, status: JobStatus, result: JSONValue) {
        self.id = id; self.attempt = attempt; self.status = status; self.result = result
    }
}

/// One event to append.
public struct NewEvent: Sendable {
    public var jobId: Int64
    public var stream: EventStream
    public var message: String

    public init(jobId: Int64, stream: EventStream, message: String) {
        self.jobId = jobId; self.stream = stream; self.message = message
    }
}

extension Store {
    static let jobColumns = """
        id, run_id, parent_run_id, project_id, status::text AS status, desired_status::text AS desired_status,
        component_id, config_id, mode, type, config_data::text AS config_data, parameters::text AS parameters,
        executor::text AS executor, created_time, start_time, end_time, duration_seconds, result::text AS result,
        waiting_reason, worker_id, attempt, orchestration_job_id, orchestration_task_id, orchestration_phase_id,
        only_orchestration_task_ids, previous_job_id, timeout_seconds, retries, delayed_start_time,
        token_id, acting_token_id, initialized_by
        """

    static func decodeJob(_ row: PostgresRow) throws -> Job {
        let r = row.makeRandomAccess()
        var job = Job(
            id: try r["id"].decode(Int64.self),
            runId: try r["run_id"].decode(String.self),
            parentRunId: try r["parent_run_id"].decode(String?.self),
            projectId: try r["project_id"].decode(String.self),
            status: JobStatus(rawValue: try r["status"].decode(String.self)) ?? .error,
            desiredStatus: DesiredStatus(rawValue: try r["desired_status"].decode(String.self)) ?? .processing,
            componentId: try r["component_id"].decode(String.self),
            configId: try r["config_id"].decode(String.self),
            mode: try r["mode"].decode(String.self),
            type: try r["type"].decode(String.self),
            configData: try r.json("config_data"),
            parameters: try r.json("parameters") ?? [:],
            executor: try r.json("executor") ?? [:],
            createdTime: try r["created_time"].decode(Date.self),
            startTime: try r["start_time"].decode(Date?.self),
            endTime: try r["end_time"].decode(Date?.self),
            durationSeconds: try r["duration_seconds"].decode(Double?.self),
            result: try r.json("result"),
            waitingReason: try r["waiting_reason"].decode(String?.self).flatMap(WaitingReason.init(rawValue:)),
            workerId: try r["worker_id"].decode(String?.self),
            attempt: Int(try r["attempt"].decode(Int32.self)),
            orchestrationJobId: try r["orchestration_job_id"].decode(Int64?.self),
            orchestrationTaskId: try r["orchestration_task_id"].decode(String?.self),
            orchestrationPhaseId: try r["orchestration_phase_id"].decode(String?.self),
            onlyOrchestrationTaskIds: try r["only_orchestration_task_ids"].decode([String]?.self),
            previousJobId: try r["previous_job_id"].decode(Int64?.self)
        )
        job.timeoutSeconds = try r["timeout_seconds"].decode(Double?.self)
        job.retries = Int(try r["retries"].decode(Int32.self))
        job.delayedStartTime = try r["delayed_start_time"].decode(Date?.self)
        job.tokenId = try r["token_id"].decode(Int64?.self)
        job.actingTokenId = try r["acting_token_id"].decode(Int64?.self)
        job.initializedBy = try r["initialized_by"].decode(String.self)
        return job
    }

    /// Creates `count` jobs of a configuration; see `createJobs(_:)`.
    public func createJobs(projectId: String = "default", componentId: String, configId: String,
                           configData: JSONValue? = nil, mode: String = "run", count: Int = 1, timeoutSeconds: Double? = nil,
                           retries: Int = 0, retryDelaySeconds: Double = 10, previousJobId: Int64? = nil,
                           tokenId: Int64? = nil, initializedBy: String = "manual") async throws -> [Job] {
        try await createJobs(JobRequest(projectId: projectId, componentId: componentId, configId: configId, configData: configData,
                                        mode: mode, count: count, timeoutSeconds: timeoutSeconds, retries: retries,
                                        retryDelaySeconds: retryDelaySeconds, previousJobId: previousJobId, tokenId: tokenId,
                                        initializedBy: initializedBy))
    }

    /// Creates `request.count` jobs of a configuration in one statement, with the configuration's
    /// parameters overlaid by `configData` and the component's executor frozen into each job (a
    /// job queued behind an unfinished job of its configuration starts `waiting`, decided by the
    /// jobs_prepare_insert trigger). Throws `.invalidInput` for a bad request or parameters that
    /// do not fit the component, `.notFound` for an unknown configuration.
    public func createJobs(_ request: JobRequest) async throws -> [Job] {
        let request = try request.validated()
        let (projectId, componentId, configId) = (request.projectId, request.componentId, request.configId)
        guard let saved = try await configuration(projectId: projectId, componentId: componentId, configId: configId) else {
            throw BatonError(.notFound, "unknown configuration '\(configId)' of component '\(componentId)' in project '\(projectId)': apply it first ('baton apply -f FILE') or check the ids", field: "config")
        }
        let parameters = saved.parameters.overlaid(with: request.configData)
        let problems = saved.executor.parameterIssues(parameters)
        guard problems.isEmpty else {
            throw BatonError(.invalidInput, "the job's parameters do not fit component '\(componentId)'", field: problems[0].field, details: problems.map(\.description))
        }
        let sealedData = try request.configData.map { try secrets.sealing($0, projectId: projectId, field: "configData") }
        let sealedParameters = try secrets.sealing(parameters, projectId: projectId, field: "configData")
        let (configData, mode, count, timeoutSeconds) = (sealedData, request.mode, request.count, request.timeoutSeconds)
        let (retries, retryDelaySeconds, previousJobId, tokenId, initializedBy) = (request.retries, request.retryDelaySeconds, request.previousJobId, request.tokenId, request.initializedBy)
        let rows = try await client.query("""
            INSERT INTO jobs (project_id, component_id, config_id, mode, config_data, parameters, executor, timeout_seconds,
                              retries, retry_delay_seconds, previous_job_id, token_id, initialized_by)
            SELECT \(projectId), \(componentId), \(configId), \(mode), \(configData?.jsonText)::jsonb, \(sealedParameters.jsonText)::jsonb, \(saved.executor.json.jsonText)::jsonb,
                   coalesce(\(timeoutSeconds)::float8, (SELECT timeout_seconds FROM components WHERE project_id = \(projectId) AND id = \(componentId))),
                   \(Int32(retries)), \(retryDelaySeconds), \(previousJobId), \(tokenId), \(initializedBy)
            FROM generate_series(1, \(count)) AS g
            RETURNING \(unescaped: Store.jobColumns)
            """, logger: logger)
        var jobs: [Job] = []
        for try await row in rows { jobs.append(try Store.decodeJob(row)) }
        return jobs
    }

    public func job(id: Int64) async throws -> Job? {
        for try await row in try await client.query("SELECT \(unescaped: Store.jobColumns) FROM jobs WHERE id = \(id)", logger: logger) {
            return try Store.decodeJob(row)
        }
        return nil
    }

    /// Jobs matching `filter`, newest first (by default).
    public func jobs(_ filter: JobFilter) async throws -> [Job] {
        let order = "ORDER BY \(filter.sortBy.column) \(filter.ascending ? "ASC" : "DESC") NULLS LAST, id \(filter.ascending ? "ASC" : "DESC")"
        let rows = try await client.query(Store.matching(filter, select: Store.jobColumns, then: order, limit: filter.limit, offset: filter.offset), logger: logger)
        var jobs: [Job] = []
        for try await row in rows { jobs.append(try Store.decodeJob(row)) }
        return jobs
    }

    /// `SELECT select FROM search_jobs(filter...) AS jobs then LIMIT limit OFFSET offset`: the one
    /// statement shape of searches, counts and bulk actions (sql/functions/search_jobs.sql).
    /// `select` and `then` are fixed SQL text of the caller; every value is a bind parameter.
    static func matching(_ filter: JobFilter, select: String, then: String, limit: Int?, offset: Int = 0) -> PostgresQuery {
        let statuses = filter.statuses.isEmpty ? nil : filter.statuses.map(\.rawValue)
        return """
            SELECT \(unescaped: select) FROM search_jobs(\(filter.projectId)::text, \(statuses)::text[], \(filter.componentId)::text,
                \(filter.configId)::text, \(filter.parentRunId)::text, \(filter.ids)::bigint[], \(filter.createdFrom)::timestamptz,
                \(filter.createdTo)::timestamptz, \(filter.orchestrationId)::text, \(filter.initializedBy)::text, \(filter.run)::text,
                \(filter.rootsOnly), \(filter.notRetried)) AS jobs
            \(unescaped: then) LIMIT \(limit.map(Int64.init))::bigint OFFSET \(Int64(offset))
            """
    }

    /// Events of a job after event id `after`, oldest first.
    public func events(jobId: Int64, after: Int64 = 0, limit: Int = 1000) async throws -> [JobEvent] {
        let rows = try await client.query("""
            SELECT id, job_id, time, stream, message FROM job_events
            WHERE job_id = \(jobId) AND id > \(after) ORDER BY id LIMIT \(limit)
            """, logger: logger)
        var events: [JobEvent] = []
        for try await (id, job, time, stream, message) in rows.decode((Int64, Int64, Date, String, String).self) {
            events.append(JobEvent(id: id, jobId: job, time: time, stream: EventStream(rawValue: stream) ?? .system, message: message))
        }
        return events
    }

    /// Appends job events in one statement. When that fails, each event is tried on its own, so
    /// one event that cannot be stored (its job was deleted, say) does not take the others with
    /// it; returns how many were dropped.
    @discardableResult
    public func appendEvents(_ events: [NewEvent]) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        let events = events.map { NewEvent(jobId: $0.jobId, stream: $0.stream, message: OutputLimits.clean($0.message)) }
        do {
            try await insertEvents(events)
            return 0
        } catch let error as PSQLError where error.code == .server && events.count > 1 {
            var dropped = 0
            for event in events {
                do { try await insertEvents([event]) } catch let error as PSQLError where error.code == .server { dropped += 1 }
            }
            return dropped
        }
    }

    private func insertEvents(_ events: [NewEvent]) async throws {
        let logger = self.logger
        // Guarded: an insert in flight when the server went away must fail, not wait for ever.
        try await client.withConnection { connection in
            _ = try await connection.guarded {
                try await connection.run("""
                    INSERT INTO job_events (job_id, stream, message)
                    SELECT * FROM unnest(\(events.map(\.jobId))::bigint[], \(events.map(\.stream.rawValue))::text[], \(events.map(\.message))::text[])
                    """, logger: logger)
            }
        }
    }
}

extension Store {
    /// Runs `body`, turning the database's refusal of the data it was given (SQLSTATE classes 22
    /// data exception, 23 integrity constraint, 54 program limit, P0 raised by a trigger) into a
    /// `BatonError` with code `.refused`, so a caller can tell bad data from a lost connection.
    static func refusals<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError where error.code == .server {
            let state = error.serverInfo?[.sqlState] ?? ""
            guard ["22", "23", "54", "P0"].contains(String(state.prefix(2))) else { throw error }
            throw BatonError(.refused, "the database refused it (SQLSTATE \(state))")
        }
    }
}

/// A worker's claim loop on one leased connection: claims, outcomes and heartbeats.
public struct WorkerSession: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    public let workerId: String
    public let leaseSeconds: Double
    /// The last project the previous claim visited: the next one goes on from there, so the
    /// projects with work are served in turn.
    let cursor = ClaimCursor()

    /// The connection was closed (a terminated backend, a restarted server): lease a new one.
    public func checkOpen() throws {
        if connection.isClosed { throw BatonError(.unavailable, "the worker's database connection was closed") }
    }

    /// Records `outcomes` and claims up to `claimLimit` jobs, in one transaction (one commit).
    /// Returns the ids of the outcomes accepted (a report from a worker that lost the job is
    /// refused) and the jobs claimed.
    public func turn(outcomes: [JobOutcome], claimLimit: Int, components: [String]?) async throws -> (accepted: Set<Int64>, claimed: [Job]) {
        let (workerId, leaseSeconds, logger, connection, cursor) = (self.workerId, self.leaseSeconds, self.logger, self.connection, self.cursor)
        let after = cursor.value
        // One statement, one round trip, one transaction (sql/functions/worker_turn.sql).
        return try await Store.refusals { try await connection.guarded {
            let rows = try await connection.query("""
                SELECT accepted, claim_cursor, \(unescaped: Store.jobColumns) FROM (
                    SELECT t.accepted, t.claim_cursor, (t.job).* FROM worker_turn(
                        \(workerId), \(outcomes.map(\.id))::bigint[], \(outcomes.map { Int32($0.attempt) })::integer[],
                        \(outcomes.map(\.status.rawValue))::job_status[], \(outcomes.map(\.result.jsonText))::jsonb[],
                        \(Int32(claimLimit)), \(components)::text[], \(leaseSeconds), \(after)::text) t) x
                """, logger: logger)
            var accepted = Set<Int64>()
            var claimed: [Job] = []
            var first = true
            for try await row in rows {
                let r = row.makeRandomAccess()
                if first {
                    accepted.formUnion(try r["accepted"].decode([Int64].self))
                    if claimLimit > 0 { cursor.value = try r["claim_cursor"].decode(String?.self) }
                    first = false
                }
                if try r["id"].decode(Int64?.self) != nil { claimed.append(try Store.decodeJob(row)) }
            }
            return (accepted, claimed)
        } }
    }

    /// Registers this worker process (`register_worker`): its row in `workers`, which the
    /// heartbeat keeps fresh; a row of an earlier process with this worker id is taken over.
    public func register(concurrency: Int, components: [String]?, version: String) async throws {
        let (workerId, leaseSeconds, logger, connection) = (self.workerId, self.leaseSeconds, self.logger, self.connection)
        let host = ProcessInfo.processInfo.hostName, pid = Int32(getpid())
        try await connection.guarded {
            try await connection.run("""
                SELECT register_worker(\(workerId), \(host), \(pid), \(version), \(Int32(concurrency)), \(components)::text[], \(leaseSeconds))
                """, logger: logger)
        }
    }

    /// The worker's heartbeat (`renew_leases`): marks its row in `workers` seen with `running`
    /// jobs, and renews the leases of the job attempts it runs. Returns those it still holds and,
    /// of them, those someone asked to kill (the fallback when a kill's NOTIFY was missed); an
    /// attempt not held any more must stop at once.
    public func heartbeat(_ keys: [(id: Int64, attempt: Int)], running: Int) async throws -> (held: Set<Int64>, kill: Set<Int64>) {
        let (workerId, leaseSeconds, logger, connection) = (self.workerId, self.leaseSeconds, self.logger, self.connection)
        return try await connection.guarded {
            let rows = try await connection.query("""
                SELECT job_id, kill FROM renew_leases(\(workerId), \(keys.map(\.id))::bigint[], \(keys.map { Int32($0.attempt) })::integer[], \(leaseSeconds), \(Int32(running)))
                """, logger: logger)
            var held = Set<Int64>(), kill = Set<Int64>()
            for try await (id, stop) in rows.decode((Int64, Bool).self) {
                held.insert(id)
                if stop { kill.insert(id) }
            }
            return (held, kill)
        }
    }

    /// The job attempts the database says this worker holds (processing or terminating under its id).
    public func heldJobs() async throws -> [(id: Int64, attempt: Int)] {
        let (workerId, logger, connection) = (self.workerId, self.logger, self.connection)
        return try await connection.guarded {
            let rows = try await connection.query("""
                SELECT id, attempt FROM jobs WHERE worker_id = \(workerId) AND status IN ('processing', 'terminating') AND type = 'standard'
                """, logger: logger)
            var held: [(Int64, Int)] = []
            for try await (id, attempt) in rows.decode((Int64, Int32).self) { held.append((id, Int(attempt))) }
            return held
        }
    }

    /// Gives back the jobs this worker holds but does not run (`release_jobs`): a claim whose
    /// reply was lost. `keep` lists the attempts it runs or leaves to the rescuer.
    public func releaseJobs(keep: [(id: Int64, attempt: Int)]) async throws -> [(jobId: Int64, outcome: String)] {
        let (workerId, logger, connection) = (self.workerId, self.logger, self.connection)
        return try await connection.guarded {
            let rows = try await connection.query("""
                SELECT job_id, outcome FROM release_jobs(\(workerId), \(keep.map(\.id))::bigint[], \(keep.map { Int32($0.attempt) })::integer[])
                """, logger: logger)
            var released: [(Int64, String)] = []
            for try await row in rows.decode((Int64, String).self) { released.append(row) }
            return released
        }
    }
}

extension Store {
    /// Leases one connection for a worker's claim loop for the duration of `body`.
    public func withWorkerSession<T: Sendable>(workerId: String, leaseSeconds: Double, _ body: (WorkerSession) async throws -> T) async throws -> T {
        let logger = self.logger
        return try await client.withConnection { connection in
            try await body(WorkerSession(connection: connection, logger: logger, workerId: workerId, leaseSeconds: leaseSeconds))
        }
    }

    /// Marks a worker stopped (`stop_worker`), at the end of a graceful shutdown.
    public func stopWorker(id: String) async throws {
        try await client.run("SELECT stop_worker(\(id))", logger: logger)
    }

    /// LISTENs on `baton_jobs` (payload `created:FIRST_ID:COUNT[:COMPONENTS]`, `finished`, or
    /// `kill:ID,ID,...`) and calls `onNotify` with each payload, and once with "" right after the
    /// LISTEN is in place, until the connection fails. With `rankOf` (a worker id), `onRank` gets
    /// that worker's position among the live workers (`live_workers()`, the rows of `workers`)
    /// and their number: at once, whenever a worker registers or stops (payload `ranks`), and
    /// every `rankRefresh` (±20 %, so a fleet does not read in step), which covers workers that
    /// died without a word; until then, a job whose designated worker is gone is taken by the
    /// 25 ms fallback. A worker not (yet) in the list gets no rank (`onRank(-1, 0)`) and wakes
    /// for every new job.
    ///
    /// Once listening, it NOTIFYs a probe from another connection; `onDeaf` is called when the
    /// probe has not come back within 5 s: LISTEN through a pooler in transaction mode hears
    /// nothing (the server connection that ran LISTEN went back to the pool), and the process
    /// then only polls.
    public func listenForJobs(rankOf workerId: String? = nil, rankRefresh: Duration = .seconds(10),
                              onRank: @escaping @Sendable (_ position: Int, _ count: Int) -> Void = { _, _ in },
                              onDeaf: @escaping @Sendable () -> Void = {},
                              _ onNotify: @Sendable (String) -> Void) async throws {
        let logger = self.logger
        try await client.withConnection { connection in
            let ranksChanged = ChangeFlag()
            try await withThrowingTaskGroup(of: Void.self) { group in
                if let workerId {
                    group.addTask {
                        while !Task.isCancelled {
                            var live: [String] = []
                            for try await value in try await connection.query("SELECT live_workers()", logger: logger).decode([String].self) { live = value }
                            if let position = live.firstIndex(of: workerId) { onRank(position, live.count) } else { onRank(-1, 0) }
                            let next = ContinuousClock.now + rankRefresh * Double.random(in: 0.8...1.2)
                            while ContinuousClock.now < next && !ranksChanged.take() {
                                try await Task.sleep(for: .milliseconds(100))
                            }
                        }
                    }
                }
                try await connection.listen(on: "baton_jobs") { notifications in
                    onNotify("")
                    let probe = "probe:\(UInt64.random(in: 1...UInt64.max))"
                    let heard = ChangeFlag()
                    let client = self.client
                    let prober = Task {
                        try? await client.run("SELECT pg_notify('baton_jobs', \(probe))", logger: logger)
                        try await Task.sleep(for: .seconds(5))
                        if !heard.take() { onDeaf() }
                    }
                    defer { prober.cancel() }
                    for try await notification in notifications {
                        if notification.payload.hasPrefix("probe:") {
                            if notification.payload == probe { heard.set() }
                            continue
                        }
                        if notification.payload == "ranks" { ranksChanged.set() }
                        onNotify(notification.payload)
                    }
                }
                group.cancelAll()
            }
        }
    }

    /// Kills a job (see `kill_job` in sql/004_lifecycle.sql); returns `.cancelled` or `.terminating`.
    public func killJob(id: Int64) async throws -> JobStatus {
        var outcome = "not-found"
        for try await text in try await client.query("SELECT kill_job(\(id))", logger: logger).decode(String.self) { outcome = text }
        switch outcome {
        case "cancelled": return .cancelled
        case "terminating": return .terminating
        case "finished":
            let status = try await job(id: id)?.status.rawValue ?? "final"
            throw BatonError(.conflict, "job \(id) has already finished (\(status)): there is nothing to kill", field: "id")
        default:
            throw BatonError(.notFound, "no job \(id)", field: "id")
        }
    }
}

/// Where a worker's next claim goes on visiting projects.
final class ClaimCursor: Sendable {
    private let state = Mutex<String?>(nil)
    var value: String? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

/// A flag one task sets and another takes (reads and clears).
final class ChangeFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    func take() -> Bool { value.withLock { changed in defer { changed = false }; return changed } }
}
