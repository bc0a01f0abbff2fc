import BatonModel
import BatonStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The PgBouncer between the tests and their PostgreSQL when `BATON_TEST_POOLER=pgbouncer`:
/// transaction mode with a small server pool, as a large fleet would run. Every client connects
/// as one user, so `maxServerConnections` bounds the server connections of all databases.
public struct TestPooler: Sendable {
    /// Server connections PgBouncer opens for one database at most.
    public static let poolSize = 10
    /// Server connections PgBouncer opens in all at most.
    public static let maxServerConnections = 120

    /// `BATON_TEST_POOLER`: nil when unset or empty (the tests talk to PostgreSQL directly).
    public static let requested: String? = ProcessInfo.processInfo.environment["BATON_TEST_POOLER"].flatMap { $0.isEmpty ? nil : $0 }

    public let host: String
    public let port: Int
    let user: String

    /// A database through PgBouncer (no password: clients are trusted, PgBouncer logs in to the server).
    public func url(database: String) -> String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// PgBouncer's admin console (SHOW POOLS, SHOW SERVERS).
    public var adminURL: String { url(database: "pgbouncer") }

    /// One line of SHOW POOLS: a database's client connections (active and waiting for a server)
    /// and its server connections (in any state).
    public struct Pool: Sendable {
        public let database: String
        public let clients: Int
        public let servers: Int
    }

    /// SHOW POOLS: each database's clients and server connections.
    public func pools() throws -> [Pool] {
        try show("POOLS").map { row in
            func sum(_ columns: [String]) -> Int { columns.reduce(0) { $0 + (Int(row[$1] ?? "") ?? 0) } }
            return Pool(database: row["database"] ?? "", clients: sum(["cl_active", "cl_waiting"]),
                        servers: sum(["sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"]))
        }
    }

    /// The PostgreSQL backends (process ids) of PgBouncer's server connections to `database` now (SHOW SERVERS).
    public func serverPids(database: String) throws -> Set<Int> {
        Set(try show("SERVERS").filter { $0["database"] == database }.compactMap { $0["remote_pid"].flatMap { Int($0) } })
    }

    /// The transactions PgBouncer has passed on to `database`'s server connections since it started (SHOW STATS).
    public func transactions(database: String) throws -> Int {
        try show("STATS").first { $0["database"] == database }.flatMap { $0["total_xact_count"].flatMap { Int($0) } } ?? 0
    }

    /// `SHOW WHAT` on the admin console, read with psql (the console speaks only the simple
    /// query protocol), as one dictionary of column to value a row.
    public func show(_ what: String) throws -> [[String: String]] {
        let (status, output) = try TestPython.run(try Self.psql(), [adminURL, "--no-psqlrc", "--no-align", "--field-separator=|", "--command=SHOW \(what)"])
        guard status == 0 else { throw BatonError(.environment, "SHOW \(what) on PgBouncer's console failed: \(output.suffix(300))") }
        let lines = output.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        // The header is the first line naming the columns (psql may warn first about versions).
        guard let headerAt = lines.firstIndex(where: { $0.contains("database") }) else {
            throw BatonError(.environment, "SHOW \(what) printed no header: \(output.suffix(300))")
        }
        let header = lines[headerAt]
        return lines[(headerAt + 1)...].filter { $0.count == header.count }.map { Dictionary(uniqueKeysWithValues: zip(header, $0)) }
    }

    static func psql() throws -> String {
        for candidate in [(try? LocalPostgres.binDirectory()).map { $0 + "/psql" }, "/usr/bin/psql"].compactMap({ $0 })
        where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        throw BatonError(.environment, "psql not found: install it with 'apt-get install -y postgresql-client'")
    }

    static func executable() throws -> String {
        if let env = ProcessInfo.processInfo.environment["BATON_PGBOUNCER"], !env.isEmpty { return env }
        for candidate in ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer"]
        where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        throw BatonError(.environment, "BATON_TEST_POOLER=pgbouncer but pgbouncer is not installed: 'apt-get install -y pgbouncer' (scripts/ensure-packages does), or set BATON_PGBOUNCER")
    }

    /// Starts PgBouncer in front of the server at `host`:`port`, logging in as `user` with
    /// `password`; returns once it accepts connections. Its files and log go to `directory`.
    static func start(host: String, port: Int, user: String, password: String?, directory: String) async throws -> (TestPooler, Process) {
        guard requested == "pgbouncer" else {
            throw BatonError(.invalidInput, "BATON_TEST_POOLER must be pgbouncer or unset (got '\(requested ?? "")')", field: "BATON_TEST_POOLER")
        }
        let executable = try executable()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        try "\(quoted(user)) \(quoted(password ?? ""))\n".write(toFile: directory + "/users.txt", atomically: true, encoding: .utf8)
        var lastError: (any Error)?
        for _ in 0..<5 {
            let listen = TestPostgres.freePort()
            let ini = """
                [databases]
                * = host=\(host) port=\(port)
                [pgbouncer]
                listen_addr = 127.0.0.1
                listen_port = \(listen)
                unix_socket_dir =
                auth_type = trust
                auth_file = \(directory)/users.txt
                admin_users = \(user)
                pool_mode = transaction
                default_pool_size = \(poolSize)
                max_user_connections = \(maxServerConnections)
                max_client_conn = 4000
                ignore_startup_parameters = extra_float_digits,options
                ; a database's idle server connections go soon, so the databases of later tests get theirs
                server_idle_timeout = 10

                """
            try ini.write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            // PgBouncer refuses to run as root; -u drops to the user PostgreSQL runs as.
            process.arguments = (geteuid() == 0 ? ["-u", "postgres"] : []) + [directory + "/pgbouncer.ini"]
            let logPath = directory + "/pgbouncer.log"
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            process.standardOutput = log
            process.standardError = log
            process.standardInput = FileHandle.nullDevice
            try process.run()
            try? log.close()
            let pooler = TestPooler(host: "127.0.0.1", port: listen, user: user)
            do {
                try await waitUntil(timeout: 10, "PgBouncer to start on port \(listen)") {
                    if !process.isRunning {
                        let tail = (try? String(contentsOfFile: logPath, encoding: .utf8))?.suffix(300) ?? ""
                        throw BatonError(.environment, "PgBouncer exited (\(process.terminationStatus)): \(tail)")
                    }
                    return (try? String(contentsOfFile: logPath, encoding: .utf8))?.contains("process up") == true
                }
                return (pooler, process)
            } catch {
                lastError = error
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
        }
        throw lastError ?? BatonError(.environment, "could not start PgBouncer")
    }
}
