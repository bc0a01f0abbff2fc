/// Every change of a job's status: from which status, on what, to which status, and what is set.
///
/// This table is the one statement of the legal transitions. The SQL that changes `jobs.status`
/// follows it (each function in `sql/functions/` names its rows); `JobTransitionTests` check the
/// table's own rules, and `TransitionConformanceTests` drive each row through the database and
/// compare what happened with the row.
public struct JobTransition: Sendable, Hashable, CustomStringConvertible {
    /// What makes a job change.
    public enum Cause: String, Sendable, Hashable, CaseIterable {
        /// A job is created and may be claimed at once (`Store.createJobs`, a run's task jobs, a new run).
        case create
        /// A job is created behind an unfinished job of its configuration (`configuration-lock`).
        case createBehind = "create-behind"
        /// A worker (or, for a run, the coordinator) claims it (`claim_jobs`).
        case claim
        /// A claim passed it over: its configuration is running or taken in the same batch.
        case holdForConfiguration = "hold-for-configuration"
        /// A claim passed it over: its project runs its limit of jobs.
        case holdForProject = "hold-for-project"
        /// Its worker reports the outcome (`finish_jobs`), or the coordinator ends a run.
        case finish
        /// Its worker reports a failed attempt with automatic retries left (`finish_jobs`).
        case retry
        /// Someone kills it (`kill_job`, a schedule's `onOverlap: replace`).
        case kill
        /// Its lease ran out (`rescue_expired_leases`).
        case rescue
        /// Its lease ran out and it has automatic retries left (`rescue_expired_leases`).
        case rescueRetry = "rescue-retry"
        /// A reconnected worker gives back a job it never started: the reply to its claim was lost (`release_jobs`).
        case release
        /// A job is created in a paused project, component or configuration (`paused`).
        case createPaused = "create-paused"
        /// Its project, component or configuration is paused (`pause_scope`).
        case pause
        /// Its scope is resumed and nothing older of its configuration is unfinished (`resume_scope`).
        case resume
        /// Its scope is resumed behind an unfinished job of its configuration (`configuration-lock`).
        case resumeBehind = "resume-behind"
    }

    public var from: JobStatus?
    public var cause: Cause
    public var to: JobStatus
    /// The columns set besides `status` (and what they are set to, in words).
    public var sets: [String]

    public var description: String { "\(from?.rawValue ?? "(new)") --\(cause.rawValue)--> \(to.rawValue)" }

    /// The statuses a worker may report as an outcome.
    public static let outcomes: [JobStatus] = [.success, .warning, .error, .terminated]

    /// The whole table. `from == nil` is a new job.
    public static let all: [JobTransition] = {
        var rows: [JobTransition] = [
            JobTransition(from: nil, cause: .create, to: .created, sets: ["created_time"]),
            JobTransition(from: nil, cause: .createBehind, to: .waiting, sets: ["created_time", "waiting_reason = configuration-lock"]),
            JobTransition(from: nil, cause: .createPaused, to: .waiting, sets: ["created_time", "waiting_reason = paused"]),
            JobTransition(from: .waiting, cause: .resume, to: .created, sets: ["waiting_reason = NULL"]),
            JobTransition(from: .waiting, cause: .resumeBehind, to: .waiting, sets: ["waiting_reason = configuration-lock"]),
        ]
        for from in [JobStatus.created, .waiting] {
            rows.append(JobTransition(from: from, cause: .claim, to: .processing,
                                      sets: ["start_time", "worker_id", "attempt + 1", "heartbeat_time", "lease_expires", "project_slot", "waiting_reason = NULL"]))
            rows.append(JobTransition(from: from, cause: .holdForConfiguration, to: .waiting, sets: ["waiting_reason = configuration-lock"]))
            rows.append(JobTransition(from: from, cause: .holdForProject, to: .waiting, sets: ["waiting_reason = project-limit"]))
            rows.append(JobTransition(from: from, cause: .pause, to: .waiting, sets: ["waiting_reason = paused"]))
            rows.append(JobTransition(from: from, cause: .kill, to: .cancelled,
                                      sets: ["desired_status = terminating", "end_time", "result", "waiting_reason = NULL"]))
        }
        for from in [JobStatus.processing, .terminating] {
            for outcome in outcomes {
                rows.append(JobTransition(from: from, cause: .finish, to: outcome, sets: ["end_time", "duration_seconds", "result", "lease_expires = NULL"]))
            }
            rows.append(JobTransition(from: from, cause: .kill, to: .terminating, sets: ["desired_status = terminating"]))
        }
        rows += [
            // A killed job (desired_status terminating) is never queued again.
            JobTransition(from: .processing, cause: .retry, to: .created,
                          sets: ["start_time = NULL", "worker_id = NULL", "result", "delayed_start_time", "lease_expires = NULL"]),
            JobTransition(from: .processing, cause: .rescue, to: .error,
                          sets: ["end_time", "duration_seconds", "result (reason worker-lost)", "lease_expires = NULL"]),
            JobTransition(from: .terminating, cause: .rescue, to: .terminated,
                          sets: ["end_time", "duration_seconds", "result (reason worker-lost)", "lease_expires = NULL"]),
            JobTransition(from: .processing, cause: .rescueRetry, to: .created,
                          sets: ["start_time = NULL", "result (reason worker-lost)", "delayed_start_time", "lease_expires = NULL"]),
            JobTransition(from: .processing, cause: .release, to: .created,
                          sets: ["attempt - 1", "start_time = NULL", "worker_id = NULL", "heartbeat_time = NULL", "lease_expires = NULL"]),
            JobTransition(from: .terminating, cause: .release, to: .cancelled,
                          sets: ["end_time", "result", "worker_id = NULL", "lease_expires = NULL"]),
        ]
        return rows
    }()

    /// The row for a change, if it is legal.
    public static func find(from: JobStatus?, cause: Cause, to: JobStatus) -> JobTransition? {
        all.first { $0.from == from && $0.cause == cause && $0.to == to }
    }

    /// Whether a job may go from `from` to `to` on any cause.
    public static func isLegal(from: JobStatus, to: JobStatus) -> Bool {
        all.contains { $0.from == from && $0.to == to }
    }

    /// The status a job reaches from `from` on `cause` (with `outcome` the status a worker
    /// reported, for `finish`); nil when the cause does not apply to that status.
    public static func next(from: JobStatus, on cause: Cause, outcome: JobStatus? = nil) -> JobStatus? {
        let rows = all.filter { $0.from == from && $0.cause == cause }
        if let outcome { return rows.first { $0.to == outcome }?.to }
        return rows.count == 1 ? rows[0].to : nil
    }
}
