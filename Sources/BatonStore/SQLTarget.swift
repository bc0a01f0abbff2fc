import BatonModel
import Foundation
import Logging
import PostgresNIO

/// Runs a configuration's SQL against a target database (the `sql` executor), in one transaction.
public enum SQLTarget {
    /// Returns the number of statements run; throws a `BatonError` whose message is the server's
    /// (the job's owner wrote the SQL, so its error is theirs to read).
    public static func run(url: String, sql: String, logger: Logger) async throws -> Int {
        let configuration = try DatabaseURL.configuration(url)
        let statements = SQLScript.statements(sql)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            do {
                try await client.withTransaction(logger: logger) { tx in
                    for statement in statements {
                        try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                }
                return statements.count
            } catch {
                let psql = (error as? PSQLError) ?? ((error as? PostgresTransactionError).flatMap { $0.closureError ?? $0.commitError ?? $0.beginError } as? PSQLError)
                if let psql, let message = psql.serverInfo?[.message] {
                    throw BatonError(.invalidInput, "SQL failed (\(psql.serverInfo?[.sqlState] ?? "?")): \(message)")
                }
                if let psql { throw Store.describe(psql, url: url) }
                throw error
            }
        }
    }
}
