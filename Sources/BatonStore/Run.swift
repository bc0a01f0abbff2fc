import Logging
import PostgresNIO

// PostgresNIO's query() returns as soon as the statement's row description arrives; an error
// raised while the statement runs (a division by zero, a RAISE in a function, a lock timeout)
// comes through the rows. A statement whose rows nobody reads loses its error, and the
// transaction it aborted answers COMMIT with ROLLBACK and no error. So every statement whose rows
// are not read goes through `run`, which reads them to the end.

extension PostgresConnection {
    /// Runs `query` to its end (its rows read and dropped), so an error it raises is thrown here.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}

extension PostgresClient {
    /// Runs `query` to its end (its rows read and dropped), so an error it raises is thrown here.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}
