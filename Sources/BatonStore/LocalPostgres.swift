import BatonModel
import Foundation
import Logging
import PostgresNIO
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL server started from the installed binaries: `baton db up` and the
/// test harness both use it. As root it runs the server as the `postgres` user.
public struct LocalPostgres: Sendable {
    public struct Configuration: Sendable {
        /// Folder holding `data/`, `socket/`, `postgres.log` and `port`. Default `.baton/postgres`.
        public var directory: String = ".baton/postgres"
        /// TCP port on 127.0.0.1. Default: the port recorded by an earlier `up`, else 15432.
        public var port: Int?
        /// Database created for Baton. Default `baton`.
        public var database: String = "baton"
        /// Extra server settings (`-c name=value`), e.g. `fsync=off` for tests.
        public var settings: [String: String] = [:]

        public init(directory: String = ".baton/postgres", port: Int? = nil, database: String = "baton", settings: [String: String] = [:]) {
            self.directory = directory
            self.port = port
            self.database = database
            self.settings = settings
        }
    }

    /// Below Linux's ephemeral range (32768-60999), where client sockets could take it first.
    public static let defaultPort = 15432
    public let configuration: Configuration
    public let directory: String

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        self.directory = URL(fileURLWithPath: configuration.directory).standardizedFileURL.path
    }

    var dataDirectory: String { directory + "/data" }
    /// The folder of the server's Unix socket (`?host=` of a URL over it).
    public var socketDirectory: String { directory + "/socket" }
    var logFile: String { directory + "/postgres.log" }
    var portFile: String { directory + "/port" }

    /// The port recorded by the last `up`, or the configured one.
    public var port: Int {
        if let port = configuration.port { return port }
        if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return port
        }
        return Self.defaultPort
    }

    public func url(database: String? = nil) -> String {
        "postgres://postgres@127.0.0.1:\(port)/\(database ?? configuration.database)"
    }

    /// Starts the server when it is not running (initdb on first use), waits until it accepts
    /// connections, creates the database, and returns its URL.
    public func up(logger: Logger) async throws -> String {
        let bin = try Self.binDirectory()
        let fm = FileManager.default
        try fm.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        let asRoot = geteuid() == 0
        if asRoot { try Shell.run(["chown", "-R", "postgres:postgres", directory]) }
        if !fm.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            logger.info("initdb", metadata: ["baton.data_dir": "\(dataDirectory)"])
            try runAsOwner(["\(bin)/initdb", "-D", dataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"], asRoot: asRoot)
        }
        let port = self.port
        if (try? runAsOwner(["\(bin)/pg_ctl", "status", "-D", dataDirectory], asRoot: asRoot)) == nil {
            var options = ["-p \(port)", "-k \(socketDirectory)", "-c listen_addresses=127.0.0.1", "-c max_connections=300"]
            for (key, value) in configuration.settings.sorted(by: { $0.key < $1.key }) { options.append("-c \(key)=\(value)") }
            logger.info("starting PostgreSQL", metadata: ["baton.port": "\(port)"])
            do {
                try runAsOwner(["\(bin)/pg_ctl", "start", "-w", "-t", "60", "-D", dataDirectory, "-l", logFile, "-o", options.joined(separator: " ")], asRoot: asRoot)
            } catch {
                let tail = (try? String(contentsOfFile: logFile, encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
                throw BatonError(.environment, "PostgreSQL did not start on port \(port) (is the port taken? try --port): \(tail)")
            }
            try "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
            if asRoot { _ = try? Shell.run(["chown", "postgres:postgres", portFile]) }
        }
        try await Store.withStore(url: url(database: "postgres"), logger: logger) { store in
            try await store.createDatabase(configuration.database)
        }
        return url()
    }

    /// Stops the server if it runs.
    public func down(mode: String = "fast") throws {
        let bin = try Self.binDirectory()
        guard FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") else {
            throw BatonError(.notFound, "no local PostgreSQL in \(directory) (start one with 'baton db up')")
        }
        let asRoot = geteuid() == 0
        if (try? runAsOwner(["\(bin)/pg_ctl", "status", "-D", dataDirectory], asRoot: asRoot)) != nil {
            try runAsOwner(["\(bin)/pg_ctl", "stop", "-w", "-m", mode, "-D", dataDirectory], asRoot: asRoot)
        }
    }

    /// The folder of `initdb` and `pg_ctl`: Debian keeps them in /usr/lib/postgresql/VERSION/bin.
    public static func binDirectory() throws -> String {
        if let env = ProcessInfo.processInfo.environment["BATON_PG_BIN"], !env.isEmpty { return env }
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(base)/\(version)/bin/pg_ctl") {
            return "\(base)/\(version)/bin"
        }
        if let path = try? Shell.run(["pg_config", "--bindir"]).trimmingCharacters(in: .whitespacesAndNewlines),
           FileManager.default.isExecutableFile(atPath: path + "/pg_ctl") {
            return path
        }
        throw BatonError(.environment, "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with 'apt-get install -y postgresql', or set BATON_PG_BIN to their folder")
    }

    @discardableResult
    private func runAsOwner(_ argv: [String], asRoot: Bool) throws -> String {
        try Shell.run(asRoot ? ["runuser", "-u", "postgres", "--"] + argv : argv, directory: "/")
    }
}

/// Runs a short helper command and returns its output; throws with its output when it fails.
///
/// Spawned with `posix_spawn`, every descriptor above stderr closed in the child: a server that
/// `pg_ctl start` leaves running must not inherit one of ours (Foundation's `Process` on Linux
/// watches a socket the server would keep open, and its wait would never return).
enum Shell {
    @discardableResult
    static func run(_ argv: [String], directory: String? = nil) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("baton-shell-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        Shell.closeOnExec()
        let command = ["/usr/bin/env"] + (directory.map { ["--chdir=\($0)"] } ?? []) + argv
        var cArgs: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, &cArgs, environ)
        guard spawned == 0 else {
            throw BatonError(.environment, "cannot run \(argv.joined(separator: " ")): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw BatonError(.environment, "\(argv.joined(separator: " ")) failed (\(exited ? "exit \(code)" : "signal \(status & 0x7f)")): \(text.suffix(400))")
        }
        return text
    }

    /// Marks every open descriptor above stderr close-on-exec, so a spawned child (and a server
    /// it leaves running) inherits none of them.
    static func closeOnExec() {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in descriptors.compactMap(Int32.init) where fd > 2 {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
