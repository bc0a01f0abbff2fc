import BatonModel
import Foundation
import Logging
import PostgresNIO

/// Applies the numbered files of `sql/` in order, each in its own transaction, recording them in
/// `schema_migrations`. A session advisory lock makes concurrent migrators take turns.
public struct Migrator: Sendable {
    public struct Migration: Sendable, Hashable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    public let migrations: [Migration]

    public init(directory: String) throws {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var migrations: [Migration] = []
        for file in files.sorted() where file.hasSuffix(".sql") {
            guard let version = Int(file.prefix(while: \.isNumber)) else { continue }
            let sql = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            if migrations.contains(where: { $0.version == version }) {
                throw BatonError(.environment, "two migrations numbered \(version) in \(directory)")
            }
            migrations.append(Migration(version: version, name: file, sql: sql))
        }
        guard !migrations.isEmpty else {
            throw BatonError(.environment, "no migrations (NNN_name.sql) found in \(directory): set BATON_SQL_DIR to the project's sql/ folder")
        }
        self.migrations = migrations
    }

    /// The project's `sql/` folder: `$BATON_SQL_DIR`, else the first `sql/` holding migrations found
    /// walking up from the working directory or from the executable.
    public static func defaultDirectory() throws -> String {
        if let env = ProcessInfo.processInfo.environment["BATON_SQL_DIR"], !env.isEmpty { return env }
        let starts = [FileManager.default.currentDirectoryPath,
                      URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path,
                      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? "/"]
        for start in starts {
            var url = URL(fileURLWithPath: start)
            while true {
                let candidate = url.appendingPathComponent("sql")
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("001_foundation.sql").path) {
                    return candidate.path
                }
                let parent = url.deletingLastPathComponent()
                if parent.path == url.path { break }
                url = parent
            }
        }
        throw BatonError(.environment, "cannot find the sql/ migrations folder: run from the project folder or set BATON_SQL_DIR")
    }

    /// Applies pending migrations; returns the names applied.
    @discardableResult
    public func migrate(_ store: Store, progress: @Sendable (String) -> Void = { _ in }) async throws -> [String] {
        let logger = store.logger
        return try await store.client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(hashtext('baton.migrate'))", logger: logger)
            do {
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version integer PRIMARY KEY,
                        name text NOT NULL,
                        applied_time timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                for comment in [
                    "COMMENT ON TABLE schema_migrations IS 'Migrations of sql/ applied by baton migrate.'",
                    "COMMENT ON COLUMN schema_migrations.version IS 'The number the migration file starts with.'",
                    "COMMENT ON COLUMN schema_migrations.name IS 'The migration file name.'",
                    "COMMENT ON COLUMN schema_migrations.applied_time IS 'When it was applied.'",
                ] {
                    try await connection.query(PostgresQuery(unsafeSQL: comment), logger: logger)
                }
                var applied = Set<Int>()
                for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
                    applied.insert(version)
                }
                var done: [String] = []
                for migration in migrations where !applied.contains(migration.version) {
                    progress("applying \(migration.name)")
                    try await connection.withTransaction(logger: logger) { tx in
                        for statement in SQLScript.statements(migration.sql) {
                            try await tx.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await tx.query("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                    }
                    done.append(migration.name)
                }
                try await connection.query("SELECT pg_advisory_unlock(hashtext('baton.migrate'))", logger: logger)
                return done
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(hashtext('baton.migrate'))", logger: logger)
                if let error = error as? PostgresTransactionError, let inner = error.closureError ?? error.commitError { throw inner }
                throw error
            }
        }
    }
}
