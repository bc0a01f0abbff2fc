import BatonModel
import BatonEngine
import BatonStore
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL tests talk to: `DATABASE_URL`'s server when set, else a throwaway server
/// started once per test process from the installed binaries (the same code as `baton db up`).
/// Each caller of `makeDatabase` gets a fresh, migrated database.
///
/// With `BATON_TEST_POOLER=pgbouncer` the tests reach that server through a PgBouncer in
/// transaction mode (`TestPooler`), as a fleet behind a pooler does: `makeDatabase` migrates the
/// database directly (as `baton migrate` with a direct URL would) and returns a URL through
/// PgBouncer; each worker and coordinator started with `BatonProcess` for such a database gets in
/// `BATON_WAKEUPS` the address of the database's `baton relay`, which connects directly (over
/// the server's Unix socket when known, so PostgreSQL tells its sessions from PgBouncer's, which
/// come over TCP).
public actor TestPostgres {
    public static let shared = TestPostgres()

    /// The server: its address and login, and the folder of its Unix socket when known.
    typealias Server = (host: String, port: Int, user: String, password: String?, socket: String?)
    /// The server, and the pooler in front of it when one was asked for.
    typealias Setup = (server: Server, pooler: TestPooler?)
    /// One start shared by every caller: the actor is re-entrant across the awaits of a start.
    private var starting: Task<Setup, any Error>?
    private var counter = 0
    public nonisolated let logger: Logger = {
        var logger = Logger(label: "baton.test")
        logger.logLevel = .warning
        return logger
    }()

    /// Creates a database named after `name`, applies the migrations unless told not to, and returns its URL.
    public func makeDatabase(_ name: String, migrate: Bool = true) async throws -> String {
        let (server, pooler) = try await start()
        counter += 1
        let database = "t_\(name.lowercased().filter { $0.isLetter || $0.isNumber })_\(getpid())_\(counter)"
        try await Store.withStore(url: Self.url(server, database: "postgres"), logger: logger) { store in
            try await store.createDatabase(database)
        }
        let direct = Self.url(server, database: database)
        if migrate {
            try await Store.withStore(url: direct, logger: logger) { store in
                try await Migrator(directory: try Migrator.defaultDirectory()).migrate(store)
            }
        }
        guard let pooler else { return direct }
        Self.state.withLock { $0.pooled[database] = Self.url(server, database: database, socket: true) }
        return pooler.url(database: database)
    }

    /// The PgBouncer the tests go through, or nil when they talk to PostgreSQL directly.
    public func pooler() async throws -> TestPooler? {
        try await start().pooler
    }

    /// The database of `url` on the server itself, bypassing the pooler: for what needs a
    /// session of its own (LISTEN) or must see the server's side. `url` itself when unpooled.
    public func directURL(_ url: String) async throws -> String {
        let (server, pooler) = try await start()
        guard pooler != nil, let database = Self.database(of: url) else { return url }
        return Self.url(server, database: database)
    }

    /// `BATON_WAKEUPS` for a worker or coordinator of `databaseURL`'s database: the address of
    /// its relay when the database is one made through the pooler, else nil. The relay starts
    /// with the database's first worker or coordinator (most tests start none) on a free port and
    /// runs until the test process ends; whoever comes before it listens reconnects with backoff.
    nonisolated static func wakeups(for databaseURL: String) throws -> String? {
        guard let database = database(of: databaseURL) else { return nil }
        return try state.withLock { state in
            if let relay = state.relays[database] { return relay.address }
            guard let direct = state.pooled[database] else { return nil }
            let port = freePort()
            // The relay LISTENs: a session of its own, straight to the server.
            let relay = try BatonProcess(["relay", "--port", "\(port)"], databaseURL: direct)
            state.relays[database] = (relay, "127.0.0.1:\(port)")
            return "127.0.0.1:\(port)"
        }
    }

    static func database(of url: String) -> String? {
        guard let path = URLComponents(string: url)?.path, path.count > 1 else { return nil }
        return String(path.dropFirst())
    }

    /// `database` on `server`, over its Unix socket when `socket` and the socket is known.
    static func url(_ server: Server, database: String, socket: Bool = false) -> String {
        let credentials = server.password.map { "\(server.user):\($0)" } ?? server.user
        let query = socket ? server.socket.map { "?host=\($0)" } ?? "" : ""
        return "postgres://\(credentials)@\(server.host):\(server.port)/\(database)\(query)"
    }

    /// Whether the relays reach the server over its Unix socket (and every TCP session of a test
    /// database comes from PgBouncer): false when `DATABASE_URL` names no socket (`?host=/dir`).
    public func relaysUseSocket() async throws -> Bool {
        try await start().server.socket != nil
    }

    private func start() async throws -> Setup {
        if let starting { return try await starting.value }
        let logger = self.logger
        let task = Task { () async throws -> Setup in
            let server = try await Self.startServer(logger: logger)
            guard TestPooler.requested != nil else { return (server, nil) }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-test-pgbouncer-\(getpid())").path
            Self.registerCleanup()
            let (pooler, process) = try await TestPooler.start(host: server.host, port: server.port, user: server.user,
                                                               password: server.password, directory: directory)
            Self.state.withLock { $0.pooler = (process, directory) }
            return (server, pooler)
        }
        starting = task
        return try await task.value
    }

    private static func startServer(logger: Logger) async throws -> Server {
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty,
           let components = URLComponents(string: env), let host = components.host {
            let socket = components.queryItems?.first { $0.name == "host" && $0.value?.hasPrefix("/") == true }?.value
            return (host, components.port ?? 5432, components.user ?? "postgres", components.password, socket)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-test-\(getpid())").path
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = Self.freePort()
            let local = LocalPostgres(.init(directory: directory, port: port, database: "postgres",
                                            settings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"]))
            do {
                _ = try await local.up(logger: logger)
                Self.state.withLock { $0.serverDirectory = directory }
                Self.registerCleanup()
                return ("127.0.0.1", port, "postgres", String?.none, local.socketDirectory)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? BatonError(.environment, "could not start a test PostgreSQL")
    }

    /// A TCP port nobody listens on right now.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Bool in
                bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : Int.random(in: 20_000...60_000)
    }

    /// What the test process started and stops at its exit.
    private struct Started {
        /// The databases made through the pooler, each with its direct URL for its relay.
        var pooled: [String: String] = [:]
        var relays: [String: (process: BatonProcess, address: String)] = [:]
        var pooler: (process: Process, directory: String)?
        var serverDirectory: String?
        var cleanupRegistered = false
    }
    private static let state = Mutex(Started())

    /// Stops, when the test process exits, the relays, then PgBouncer, then the throwaway server.
    private static func registerCleanup() {
        let first = state.withLock { state in
            defer { state.cleanupRegistered = true }
            return !state.cleanupRegistered
        }
        guard first else { return }
        atexit {
            let started = TestPostgres.state.withLock { $0 }
            for (relay, _) in started.relays.values where relay.process.isRunning {
                kill(relay.process.processIdentifier, SIGKILL)
            }
            if let pooler = started.pooler {
                // SIGTERM: PgBouncer closes every connection and exits at once.
                let process = pooler.process
                if process.isRunning { kill(process.processIdentifier, SIGTERM) }
                let deadline = Date().addingTimeInterval(5)
                while process.isRunning && Date() < deadline { usleep(20_000) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                try? FileManager.default.removeItem(atPath: pooler.directory)
            }
            if let directory = started.serverDirectory {
                try? LocalPostgres(.init(directory: directory)).down(mode: "immediate")
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
    }
}

extension TestPostgres {
    /// A fresh, migrated database with the documents of `yaml` applied, as `baton apply` would
    /// apply them: the prologue of most tests. Returns its URL.
    public func makeDatabase(_ name: String, applying yaml: String) async throws -> String {
        let url = try await makeDatabase(name)
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await Apply.apply(try Documents.parse(yaml), store: store)
        }
        return url
    }
}
