import BatonModel
import Foundation
import PostgresNIO

// What the jobs page, the queue and fleet page and the bulk actions read and do. Searches,
// counts and bulk actions all go through search_jobs (sql/functions/search_jobs.sql), so a page
// and "kill every job that matches" agree on which jobs match.

/// A live or recently seen worker process (a row of `workers`).
public struct WorkerRow: Sendable, Hashable {
    public var id: String
    public var host: String
    public var pid: Int
    public var version: String
    public var slots: Int
    public var running: Int
    public var components: [String]?
    public var startedTime: Date
    public var seenTime: Date
    public var stoppedTime: Date?
    /// Heard from within two leases and not stopped.
    public var alive: Bool

    public var json: JSONValue {
        ["id": .string(id), "host": .string(host), "pid": .number(Double(pid)), "version": .string(version),
         "slots": .number(Double(slots)), "running": .number(Double(running)),
         "components": components.map { .array($0.map { .string($0) }) } ?? .null,
         "startedTime": .string(Job.formatTime(startedTime)), "seenTime": .string(Job.formatTime(seenTime)),
         "stoppedTime": stoppedTime.map { .string(Job.formatTime($0)) } ?? .null, "alive": .bool(alive)]
    }
}

/// A leadership row: who leads the coordinators, in which term, until when.
public struct LeaderRow: Sendable, Hashable {
    public var name: String
    public var holder: String
    public var term: Int64
    public var expires: Date
    public var takenTime: Date
    /// Its lease still runs.
    public var active: Bool

    public var json: JSONValue {
        ["name": .string(name), "holder": .string(holder), "term": .number(Double(term)),
         "expires": .string(Job.formatTime(expires)), "takenTime": .string(Job.formatTime(takenTime)), "active": .bool(active)]
    }
}

/// Unfinished jobs of a project, grouped (the queue page).
public struct QueueGroup: Sendable, Hashable {
    public var componentId: String
    public var configId: String?
    public var status: JobStatus
    public var reason: String?
    public var count: Int
    /// The oldest job of the group.
    public var oldestJobId: Int64
    /// For configuration-lock: the unfinished job of the configuration that runs (or is first).
    public var heldBy: Int64?

    public var json: JSONValue {
        ["component": .string(componentId), "config": configId.map { .string($0) } ?? .null, "status": .string(status.rawValue),
         "waitingReason": reason.map { .string($0) } ?? .null, "count": .number(Double(count)),
         "oldestJobId": .string(String(oldestJobId)), "heldBy": heldBy.map { .string(String($0)) } ?? .null]
    }
}

extension Store {
    /// How many jobs match `filter` in each status (its statuses, limit and offset are ignored).
    public func jobCounts(_ filter: JobFilter) async throws -> [JobStatus: Int] {
        var filter = filter
        filter.statuses = []
        var counts: [JobStatus: Int] = [:]
        let rows = try await client.query(Store.matching(filter, select: "status::text, count(*)::bigint", then: "GROUP BY 1", limit: nil), logger: logger)
        for try await (status, count) in rows.decode((String, Int64).self) {
            if let status = JobStatus(rawValue: status) { counts[status] = Int(count) }
        }
        return counts
    }

    /// Kills every unfinished job that matches `filter` and nobody asked to kill yet, oldest
    /// first, at most `max` in this call, in one statement (one transaction): `kill_job` on each,
    /// so a run's task jobs go with it. Returns the ids killed, each `.cancelled` (had not
    /// started) or `.terminating`, and how many matching unfinished jobs are left to kill.
    public func killJobs(_ filter: JobFilter, max: Int) async throws -> (killed: [(id: Int64, status: JobStatus)], remaining: Int) {
        var filter = filter
        let unfinished: [JobStatus] = [.created, .waiting, .processing, .terminating]
        filter.statuses = filter.statuses.isEmpty ? unfinished : filter.statuses.filter(unfinished.contains)
        guard !filter.statuses.isEmpty else { return ([], 0) }
        let rows = try await client.query(Store.matching(filter, select: "id, kill_job(id)",
                                                         then: "WHERE desired_status = 'processing' ORDER BY id", limit: max), logger: logger)
        var killed: [(id: Int64, status: JobStatus)] = []
        for try await (id, outcome) in rows.decode((Int64, String).self) {
            switch outcome {
            case "cancelled": killed.append((id, .cancelled))
            case "terminating": killed.append((id, .terminating))
            default: continue  // finished meanwhile, or killed with its run earlier in this statement
            }
        }
        var remaining = 0
        for try await count in try await client.query(Store.matching(filter, select: "count(*)::bigint",
                                                                     then: "WHERE desired_status = 'processing'", limit: nil), logger: logger).decode(Int64.self) {
            remaining = Int(count)
        }
        return (killed, remaining)
    }

    /// Events of a job: after `after` and before `before` (ids), of one stream or all; the first
    /// `limit` of them, or with `fromEnd` the last `limit`; oldest first either way.
    public func events(jobId: Int64, after: Int64 = 0, before: Int64? = nil, stream: EventStream? = nil, limit: Int, fromEnd: Bool) async throws -> [JobEvent] {
        let rows = try await client.query("""
            SELECT id, job_id, time, stream, message FROM (
                SELECT id, job_id, time, stream, message FROM job_events
                WHERE job_id = \(jobId) AND id > \(after) AND (\(before)::bigint IS NULL OR id < \(before)::bigint)
                  AND (\(stream?.rawValue)::text IS NULL OR stream = \(stream?.rawValue)::text)
                ORDER BY id \(unescaped: fromEnd ? "DESC" : "ASC") LIMIT \(limit)
            ) AS page ORDER BY id
            """, logger: logger)
        var events: [JobEvent] = []
        for try await (id, job, time, stream, message) in rows.decode((Int64, Int64, Date, String, String).self) {
            events.append(JobEvent(id: id, jobId: job, time: time, stream: EventStream(rawValue: stream) ?? .system, message: message))
        }
        return events
    }

    /// How many events a job has, and how many of them before event id `before`.
    public func eventCount(jobId: Int64, before: Int64? = nil) async throws -> (total: Int, earlier: Int) {
        let rows = try await client.query("""
            SELECT count(*)::bigint, count(*) FILTER (WHERE \(before)::bigint IS NOT NULL AND id < \(before)::bigint)::bigint
            FROM job_events WHERE job_id = \(jobId)
            """, logger: logger)
        for try await (total, earlier) in rows.decode((Int64, Int64).self) { return (Int(total), Int(earlier)) }
        return (0, 0)
    }

    /// The unfinished jobs of a project by component, configuration, status and waiting reason,
    /// the largest groups first; for jobs waiting on their configuration, the job that holds it.
    public func queueGroups(projectId: String, limit: Int = 200) async throws -> [QueueGroup] {
        let rows = try await client.query("""
            SELECT g.component_id, g.config_id, g.status, g.waiting_reason, g.n, g.oldest,
                   CASE WHEN g.waiting_reason = 'configuration-lock' THEN
                       (SELECT min(u.id) FROM jobs u WHERE u.project_id = \(projectId) AND u.component_id = g.component_id
                          AND u.config_id = g.config_id AND u.status IN ('processing', 'terminating')) END
            FROM (SELECT component_id, config_id, status::text AS status, waiting_reason, count(*)::bigint AS n, min(id) AS oldest
                  FROM jobs WHERE project_id = \(projectId) AND status IN ('created', 'waiting', 'processing', 'terminating')
                  GROUP BY 1, 2, 3, 4) AS g
            ORDER BY g.n DESC, 1, 2 LIMIT \(limit)
            """, logger: logger)
        var groups: [QueueGroup] = []
        for try await (component, config, status, reason, count, oldest, holder) in rows.decode((String, String, String, String?, Int64, Int64, Int64?).self) {
            groups.append(QueueGroup(componentId: component, configId: config, status: JobStatus(rawValue: status) ?? .waiting, reason: reason,
                                     count: Int(count), oldestJobId: oldest, heldBy: holder))
        }
        return groups
    }

    /// A project's limit of parallel jobs and how many of its jobs hold a slot now.
    public func projectLimit(projectId: String) async throws -> (limit: Int, inUse: Int) {
        let rows = try await client.query("""
            SELECT p.max_parallel_jobs,
                   (SELECT count(*)::int FROM jobs j WHERE j.project_id = p.id AND j.status IN ('processing', 'terminating') AND j.type = 'standard')
            FROM projects p WHERE p.id = \(projectId)
            """, logger: logger)
        for try await (limit, inUse) in rows.decode((Int32, Int32).self) { return (Int(limit), Int(inUse)) }
        throw BatonError(.notFound, "project '\(projectId)' does not exist", field: "project")
    }

    /// Workers that run now or were seen within `recentSeconds`, alive ones first.
    public func workers(recentSeconds: Double = 3600) async throws -> [WorkerRow] {
        let rows = try await client.query("""
            SELECT id, host, pid, version, concurrency, running, components, started_time, seen_time, stopped_time,
                   stopped_time IS NULL AND seen_time > now() - make_interval(secs => 2 * lease_seconds)
            FROM workers WHERE seen_time > now() - make_interval(secs => \(recentSeconds))
            ORDER BY 11 DESC, id
            """, logger: logger)
        var out: [WorkerRow] = []
        for try await (id, host, pid, version, slots, running, components, started, seen, stopped, alive)
                in rows.decode((String, String, Int32, String, Int32, Int32, [String]?, Date, Date, Date?, Bool).self) {
            out.append(WorkerRow(id: id, host: host, pid: Int(pid), version: version, slots: Int(slots), running: Int(running),
                                 components: components, startedTime: started, seenTime: seen, stoppedTime: stopped, alive: alive))
        }
        return out
    }

    /// The running jobs of one project by worker id.
    public func runningJobs(projectId: String) async throws -> [String: [Int64]] {
        let rows = try await client.query("""
            SELECT worker_id, array_agg(id ORDER BY id) FROM jobs
            WHERE project_id = \(projectId) AND status IN ('processing', 'terminating') AND type = 'standard' AND worker_id IS NOT NULL
            GROUP BY 1
            """, logger: logger)
        var out: [String: [Int64]] = [:]
        for try await (worker, ids) in rows.decode((String, [Int64]).self) { out[worker] = ids }
        return out
    }

    /// The leadership rows (the coordinator's).
    public func leaders() async throws -> [LeaderRow] {
        let rows = try await client.query("""
            SELECT name, holder, term, expires, taken_time, expires > clock_timestamp() FROM leaders ORDER BY name
            """, logger: logger)
        var out: [LeaderRow] = []
        for try await (name, holder, term, expires, taken, active) in rows.decode((String, String, Int64, Date, Date, Bool).self) {
            out.append(LeaderRow(name: name, holder: holder, term: term, expires: expires, takenTime: taken, active: active))
        }
        return out
    }

    /// The jobs that retried job `id` (their previous job), oldest first.
    public func retries(of id: Int64) async throws -> [Int64] {
        var out: [Int64] = []
        for try await retry in try await client.query("SELECT id FROM jobs WHERE previous_job_id = \(id) ORDER BY id", logger: logger).decode(Int64.self) {
            out.append(retry)
        }
        return out
    }

    /// The unfinished job of the same configuration that a job waiting on its configuration
    /// waits for: the running one, else the oldest earlier one.
    public func configurationHolder(of job: Job) async throws -> Int64? {
        let rows = try await client.query("""
            SELECT id FROM jobs
            WHERE project_id = \(job.projectId) AND component_id = \(job.componentId) AND config_id = \(job.configId) AND id <> \(job.id)
              AND status IN ('created', 'waiting', 'processing', 'terminating')
            ORDER BY status IN ('processing', 'terminating') DESC, id LIMIT 1
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        return nil
    }
}
