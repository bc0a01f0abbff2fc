import BatonModel
import BatonStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a worker gives the jobs it runs, and what it keeps from them: the environment of
/// process jobs, the Unix user they run as, the databases `sql` jobs may reach, where `http` jobs
/// may connect, and the keys that open secrets. Every field has a safe default: a job gets none
/// of the worker's own environment, no database and no private address.
public struct ExecutionPolicy: Sendable {
    /// Variables of the worker's environment passed on to every process job. Default: `PATH`,
    /// `LANG`, `LC_ALL`, `TZ` (never secrets); `--pass-env NAME` adds more.
    public var passEnvironment: [String] = ExecutionPolicy.defaultPassEnvironment
    public static let defaultPassEnvironment = ["PATH", "LANG", "LC_ALL", "TZ"]

    /// Unix users process jobs run as, by project; the key `""` is every other project. Empty
    /// (the default): jobs run as the worker's user. Needs a worker running as root.
    public var jobUsers: [String: JobUser] = [:]

    /// The databases `sql` jobs may reach: target name -> the worker's environment variable that
    /// holds its URL (`--sql-target NAME=ENV_VAR`). Default: none.
    public var sqlTargets: [String: String] = [:]

    /// Whether `sql` components may carry their own URL (`databaseUrl`, `#databaseUrl`); its host
    /// then passes the outbound policy too. Default false.
    public var allowSQLURLs = false

    /// Where `http` jobs (and `sql` jobs' own URLs) may connect. Default: public addresses only.
    public var outbound = OutboundPolicy()

    /// Opens the job's secrets; nil: a job holding one ends `error`.
    public var secrets: SecretKeyring? = nil

    /// The worker's own environment, read once.
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    public init() {}

    /// A Unix user a job runs as.
    public struct JobUser: Sendable, Hashable {
        public var name: String
        public var uid: UInt32
        public var gid: UInt32

        /// Looks the user up; throws when there is none.
        public init(_ name: String) throws {
            guard let entry = getpwnam(name) else {
                throw BatonError(.invalidInput, "no Unix user '\(name)' on this machine", field: "job-user")
            }
            self.name = name
            self.uid = entry.pointee.pw_uid
            self.gid = entry.pointee.pw_gid
        }
    }

    /// Reads `--job-user USER` (every project) or `--job-user PROJECT=USER`.
    public static func parseJobUsers(_ entries: [String]) throws -> [String: JobUser] {
        var users: [String: JobUser] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let (project, user) = parts.count == 2 ? (parts[0], parts[1]) : ("", parts[0])
            guard users[project] == nil else {
                throw BatonError(.invalidInput, "--job-user names \(project.isEmpty ? "the default user" : "project \(project)") twice", field: "job-user")
            }
            users[project] = try JobUser(user)
        }
        if !users.isEmpty && geteuid() != 0 {
            throw BatonError(.invalidInput, "--job-user needs a worker running as root (it starts each job as that user)", field: "job-user")
        }
        return users
    }

    /// Reads `--sql-target NAME=ENV_VAR` (or `ENV_VAR` alone, named after itself).
    public static func parseSQLTargets(_ entries: [String]) throws -> [String: String] {
        var targets: [String: String] = [:]
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let (name, variable) = parts.count == 2 ? (parts[0], parts[1]) : (parts[0], parts[0])
            guard Identifier.isValid(name), !variable.isEmpty, variable.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw BatonError(.invalidInput, "--sql-target must be NAME=ENV_VAR (e.g. warehouse=WAREHOUSE_URL), got '\(entry)'", field: "sql-target")
            }
            targets[name] = variable
        }
        return targets
    }

    /// The user a job of `projectId` runs as, if any.
    func jobUser(for projectId: String) -> JobUser? { jobUsers[projectId] ?? jobUsers[""] }

    /// The environment of a process job, before the `BATON_*` variables: what the operator passes
    /// on, then the component's own (`#NAME` keys as NAME).
    func processEnvironment(component: [String: String]) -> [String: String] {
        var env: [String: String] = [:]
        for name in passEnvironment { if let value = environment[name] { env[name] = value } }
        if env["PATH"] == nil { env["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        for (key, value) in component { env[Secrets.plainName(key)] = value }
        return env
    }

    /// The URL of an `sql` job's target, or why there is none.
    func sqlURL(_ target: ExecutorSpec.SQLTargetRef) -> Result<String, BatonError> {
        let named: (String, String)?
        switch target {
        case .named(let name):
            named = sqlTargets[name].map { (name, $0) }
            if named == nil {
                return .failure(BatonError(.invalidInput, "sql target '\(name)' is not one this worker's operator named (baton worker --sql-target \(name)=ENV_VAR)"))
            }
        case .environment(let variable):
            named = sqlTargets.first { $0.value == variable || $0.key == variable }.map { ($0.key, $0.value) }
            if named == nil {
                return .failure(BatonError(.invalidInput, "databaseUrlEnv \(variable) is not an sql target this worker's operator named: a job reaches only the databases named with baton worker --sql-target NAME=\(variable)"))
            }
        case .url(let url, _):
            guard allowSQLURLs else {
                return .failure(BatonError(.invalidInput, "this worker takes no database URL from a component (only targets its operator named with --sql-target; --sql-allow-url lets components bring their own)"))
            }
            return .success(url)
        }
        guard let named else { return .failure(BatonError(.internal, "no sql target")) }
        guard let url = environment[named.1], !url.isEmpty else {
            return .failure(BatonError(.environment, "sql target '\(named.0)': the worker's environment has no \(named.1)"))
        }
        return .success(url)
    }
}
