import BatonModel
import BatonEngine
import BatonStore
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL tests talk to: `DATABASE_URL`'s server when set, else a throwaway server
/// started once per test process from the installed binaries (the same code as `baton db up`).
/// Each caller of `makeDatabase` gets a fresh, migrated database.
public actor TestPostgres {
    public static let shared = TestPostgres()

    typealias Server = (host: String, port: Int, user: String, password: String?)
    /// One start shared by every caller: the actor is re-entrant across the awaits of a start.
    private var starting: Task<Server, any Error>?
    private var counter = 0
    public nonisolated let logger: Logger = {
        var logger = Logger(label: "baton.test")
        logger.logLevel = .warning
        return logger
    }()

    /// Creates a database named after `name`, applies the migrations unless told not to, and returns its URL.
    public func makeDatabase(_ name: String, migrate: Bool = true) async throws -> String {
        let server = try await start()
        counter += 1
        let database = "t_\(name.lowercased().filter { $0.isLetter || $0.isNumber })_\(getpid())_\(counter)"
        let admin = url(server, database: "postgres")
        try await Store.withStore(url: admin, logger: logger) { store in
            try await store.createDatabase(database)
        }
        let url = url(server, database: database)
        guard migrate else { return url }
        try await Store.withStore(url: url, logger: logger) { store in
            try await Migrator(directory: try Migrator.defaultDirectory()).migrate(store)
        }
        return url
    }

    private func url(_ server: Server, database: String) -> String {
        let credentials = server.password.map { "\(server.user):\($0)" } ?? server.user
        return "postgres://\(credentials)@\(server.host):\(server.port)/\(database)"
    }

    private func start() async throws -> Server {
        if let starting { return try await starting.value }
        let logger = self.logger
        let task = Task { try await Self.startServer(logger: logger) }
        starting = task
        return try await task.value
    }

    private static func startServer(logger: Logger) async throws -> Server {
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty,
           let components = URLComponents(string: env), let host = components.host {
            return (host, components.port ?? 5432, components.user ?? "postgres", components.password)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-test-\(getpid())").path
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = Self.freePort()
            let local = LocalPostgres(.init(directory: directory, port: port, database: "postgres",
                                            settings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"]))
            do {
                _ = try await local.up(logger: logger)
                TestPostgres.registerCleanup(directory: directory)
                return ("127.0.0.1", port, "postgres", String?.none)
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

    nonisolated(unsafe) private static var cleanupDirectory: String?

    /// Stops the throwaway server when the test process exits.
    private static func registerCleanup(directory: String) {
        cleanupDirectory = directory
        atexit {
            guard let directory = TestPostgres.cleanupDirectory else { return }
            try? LocalPostgres(.init(directory: directory)).down(mode: "immediate")
            try? FileManager.default.removeItem(atPath: directory)
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
