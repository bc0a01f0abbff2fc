import BatonModel
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The PostgreSQL layer: a connection pool and every query Baton runs.
///
/// Run `client` (a `Service`) in the process's `ServiceGroup`, or use `Store.withStore` for short commands.
public final class Store: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    public let url: String
    /// The keys that seal secrets (`#` keys) before they are stored, from `BATON_SECRET_KEYS`;
    /// nil: a secret is refused rather than stored in plain text.
    public let secrets: SecretKeyring?
    private let running = Synchronization.Atomic<Bool>(false)

    /// Runs the pool (what `client.run()` does), noting that it has started: services that
    /// share the `ServiceGroup` wait for it with `poolStarted()` before their first query, so
    /// none leases a connection before the pool runs (postgres-nio warns about that).
    public func runPool() async {
        running.store(true, ordering: .sequentiallyConsistent)
        await client.run()
    }

    /// Returns once `runPool()` has been entered, or after 2 s when the pool runs some other
    /// way (`client.run()` called directly).
    public func poolStarted() async {
        let deadline = ContinuousClock.now + .seconds(2)
        while !running.load(ordering: .sequentiallyConsistent) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
        await Task.yield()
    }

    public init(url: String, logger: Logger, maxConnections: Int = 8, secrets: SecretKeyring?? = nil) throws {
        self.secrets = try secrets ?? SecretKeyring.fromEnvironment()
        var configuration = try DatabaseURL.configuration(url)
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = 0
        configuration.options.connectionIdleTimeout = .seconds(60)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.url = url
    }

    /// Runs `body` with a store whose pool runs for the duration of the call. Fails within
    /// `connectTimeout` with a clear message when the database cannot be reached.
    @discardableResult
    public static func withStore<T: Sendable>(url: String, logger: Logger, connectTimeout: Duration = .seconds(10),
                                              _ body: @Sendable (Store) async throws -> T) async throws -> T {
        try await checkReachable(url: url, logger: logger, timeout: connectTimeout)
        let store = try Store(url: url, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.runPool() }
            defer { group.cancelAll() }
            await store.poolStarted() // the pool runs before the first lease
            do {
                return try await body(store)
            } catch let error as PSQLError {
                throw Store.describe(error, url: url)
            } catch let error as PostgresTransactionError {
                if let inner = error.closureError as? BatonError { throw inner }
                if let inner = (error.closureError ?? error.commitError ?? error.beginError) as? PSQLError { throw Store.describe(inner, url: url) }
                throw error
            }
        }
    }

    /// Opens and closes one connection, so a command fails fast instead of waiting on the pool.
    public static func checkReachable(url: String, logger: Logger, timeout: Duration) async throws {
        let configuration = try DatabaseURL.connectionConfiguration(url)
        let outcome: Result<Void, any Error> = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask {
                do {
                    let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                    try? await connection.close()
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(BatonError(.unavailable, "PostgreSQL at \(DatabaseURL.redacted(url)) did not answer within \(timeout)"))
        }
        switch outcome {
        case .success: return
        case .failure(let error as BatonError): throw error
        case .failure(let error as PSQLError) where error.code == .server:
            throw describe(error, url: url)
        case .failure(let error):
            let cause = (error as? PSQLError)?.underlying.map { String(describing: $0) } ?? String(describing: error)
            throw BatonError(.unavailable, "cannot reach PostgreSQL at \(DatabaseURL.redacted(url)) (\(cause.prefix(120))): is it running? ('baton db up' starts a local one)")
        }
    }

    /// A database error as a message a person can act on, without the server's text where it
    /// could leak data.
    public static func describe(_ error: PSQLError, url: String) -> BatonError {
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown:
            return BatonError(.unavailable, "cannot reach PostgreSQL at \(DatabaseURL.redacted(url)): is it running? ('baton db up' starts a local one)")
        case .server:
            let state = error.serverInfo?[.sqlState] ?? "?"
            let message = error.serverInfo?[.message] ?? "error"
            if state == "42P01" || state == "42883" {
                return BatonError(.environment, "the database schema is missing or old: run 'baton migrate' (\(message))")
            }
            if state == "3D000" {
                return BatonError(.environment, "database does not exist: \(message)")
            }
            return BatonError(.unavailable, "database error \(state): \(message)")
        default:
            return BatonError(.unavailable, "database error: \(error.code)")
        }
    }
}

extension Store {
    /// A transaction whose own errors (BatonError) come out as they are, not wrapped.
    func transaction<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await client.withTransaction(logger: logger) { try await body($0) }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError as? BatonError { throw inner }
            throw error
        }
    }
}

extension PostgresRandomAccessRow {
    func json(_ column: String) throws -> JSONValue? {
        guard let text = try self[column].decode(String?.self) else { return nil }
        return try JSONValue.parse(text)
    }
}
