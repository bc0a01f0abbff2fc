import BatonModel
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Runs a configuration's SQL against a target database (the `sql` executor), in one transaction.
public enum SQLTarget {
    /// Returns the number of statements run; throws a `BatonError` whose message is the server's
    /// (the job's owner wrote the SQL, so its error is theirs to read).
    ///
    /// When the calling task is cancelled (the job is killed, times out, or is fenced), the
    /// statement running on the target is cancelled with `pg_cancel_backend` from a second
    /// connection, so the transaction rolls back there and then, not when it would have ended.
    public static func run(url: String, sql: String, logger: Logger) async throws -> Int {
        let configuration = try DatabaseURL.connectionConfiguration(url)
        let statements = SQLScript.statements(sql)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        } catch let error as PSQLError {
            throw Store.describe(error, url: url)
        }
        defer { Task { try? await connection.close() } }
        var backend: Int32 = 0
        for try await pid in try await connection.query("SELECT pg_backend_pid()", logger: logger).decode(Int32.self) { backend = pid }
        let target = backend
        return try await withTaskCancellationHandler {
            do {
                try Task.checkCancellation()
                try await connection.run("BEGIN", logger: logger)
                for statement in statements {
                    try Task.checkCancellation()
                    try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.run("COMMIT", logger: logger)
                return statements.count
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                if error is CancellationError { throw BatonError(.unavailable, "SQL cancelled: the job was stopped") }
                if let psql = error as? PSQLError, let message = psql.serverInfo?[.message] {
                    if psql.serverInfo?[.sqlState] == "57014" { throw BatonError(.unavailable, "SQL cancelled: the job was stopped") }
                    throw BatonError(.invalidInput, "SQL failed (\(psql.serverInfo?[.sqlState] ?? "?")): \(message)")
                }
                if let psql = error as? PSQLError { throw Store.describe(psql, url: url) }
                throw error
            }
        } onCancel: {
            Task {
                guard let canceller = try? await PostgresConnection.connect(configuration: configuration, id: 2, logger: logger) else { return }
                _ = try? await canceller.query("SELECT pg_cancel_backend(\(target))", logger: logger)
                try? await canceller.close()
            }
        }
    }
}
