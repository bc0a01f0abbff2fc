import BatonModel
import Foundation
import Logging
import PostgresNIO

/// Applies the numbered files of `sql/` (tables, types, indexes) in order, each in its own
/// transaction, recording them in `schema_migrations`; then the files of `sql/functions/` (one
/// function, trigger or view each, the only text of it) whose content changed since they were
/// last applied, all in one transaction, recording each file's checksum in `schema_functions`.
/// Each step is a transaction holding the migration lock (a transaction advisory lock), so
/// concurrent migrators take turns, also through a pooler in transaction mode.
///
/// Functions are applied after every migration, so a migration must not call one; a function
/// file must be re-runnable (`CREATE OR REPLACE`, and a `DROP FUNCTION IF EXISTS` of an old
/// signature when it changes).
public struct Migrator: Sendable {
    public struct Migration: Sendable, Hashable {
        public var version: Int
        public var name: String
        public var sql: String
    }

    /// A file of `sql/functions/`, named for what it defines.
    public struct Definition: Sendable, Hashable {
        public var name: String
        public var sql: String
    }

    public let migrations: [Migration]
    public let definitions: [Definition]

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
        let functionsDirectory = directory + "/functions"
        let functionFiles = (try? FileManager.default.contentsOfDirectory(atPath: functionsDirectory)) ?? []
        definitions = try functionFiles.sorted().filter { $0.hasSuffix(".sql") }.map { file in
            Definition(name: file, sql: try String(contentsOfFile: functionsDirectory + "/" + file, encoding: .utf8))
        }
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

    /// Applies pending migrations, then the function files that changed; returns the names applied.
    @discardableResult
    public func migrate(_ store: Store, progress: @Sendable (String) -> Void = { _ in }) async throws -> [String] {
        // Every step is one transaction that first takes the migration lock as a transaction
        // lock, and then looks at what is applied: two migrators take turns, step by step, and
        // no session state is needed, so this works through PgBouncer in transaction mode too.
        let logger = store.logger
        do {
            try await store.client.withTransaction(logger: logger) { tx in
                try await Self.lock(tx, logger: logger)
                for statement in SQLScript.statements(Self.bookkeepingSQL) {
                    try await tx.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
            var done: [String] = []
            for migration in migrations {
                let applied = try await store.client.withTransaction(logger: logger) { tx -> Bool in
                    try await Self.lock(tx, logger: logger)
                    for try await _ in try await tx.query("SELECT 1 FROM schema_migrations WHERE version = \(migration.version)", logger: logger) {
                        return false // applied before (or by the migrator we waited for)
                    }
                    progress("applying \(migration.name)")
                    for statement in SQLScript.statements(migration.sql) {
                        try await tx.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await tx.run("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                    return true
                }
                if applied { done.append(migration.name) }
            }
            done += try await store.client.withTransaction(logger: logger) { tx in
                try await Self.lock(tx, logger: logger)
                return try await applyDefinitions(tx, logger: logger, progress: progress)
            }
            return done
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error.commitError ?? error.beginError ?? error
        }
    }

    private static func lock(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.run("SELECT pg_advisory_xact_lock(hashtext('baton.migrate'))", logger: logger)
    }

    /// The tables that record what was applied (`schema_migrations`, `schema_functions`), with
    /// their comments. A script, not a migration: they must exist before the first migration runs.
    static let bookkeepingSQL = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            applied_time timestamptz NOT NULL DEFAULT now());
        COMMENT ON TABLE schema_migrations IS 'Migrations of sql/ applied by baton migrate.';
        COMMENT ON COLUMN schema_migrations.version IS 'The number the migration file starts with.';
        COMMENT ON COLUMN schema_migrations.name IS 'The migration file name.';
        COMMENT ON COLUMN schema_migrations.applied_time IS 'When it was applied.';
        CREATE TABLE IF NOT EXISTS schema_functions (
            name text PRIMARY KEY,
            checksum text NOT NULL,
            applied_time timestamptz NOT NULL DEFAULT now());
        COMMENT ON TABLE schema_functions IS 'Files of sql/functions/ applied by baton migrate: each is applied again when its content changes.';
        COMMENT ON COLUMN schema_functions.name IS 'The file name (named for the function, trigger or view it defines).';
        COMMENT ON COLUMN schema_functions.checksum IS 'md5 of the file content as applied.';
        COMMENT ON COLUMN schema_functions.applied_time IS 'When this content was applied.';
        """


    /// Applies the files of `sql/functions/` whose checksum differs from the one recorded, with
    /// their new checksums, in the caller's transaction.
    private func applyDefinitions(_ connection: PostgresConnection, logger: Logger, progress: @Sendable (String) -> Void) async throws -> [String] {
        var applied: [String: String] = [:]
        for try await (name, checksum) in try await connection.query("SELECT name, checksum FROM schema_functions", logger: logger).decode((String, String).self) {
            applied[name] = checksum
        }
        var changed: [Definition] = []
        for definition in definitions {
            var checksum = ""
            for try await value in try await connection.query("SELECT md5(\(definition.sql))", logger: logger).decode(String.self) { checksum = value }
            if applied[definition.name] != checksum { changed.append(definition) }
        }
        guard !changed.isEmpty else { return [] }
        for definition in changed {
            progress("applying functions/\(definition.name)")
            do {
                for statement in SQLScript.statements(definition.sql) {
                    try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            } catch let error as PSQLError {
                let message = error.serverInfo?[.message] ?? "\(error.code)"
                throw BatonError(.environment, "sql/functions/\(definition.name) failed, so no function file was applied: \(message)")
            }
            try await connection.run("""
                INSERT INTO schema_functions (name, checksum) VALUES (\(definition.name), md5(\(definition.sql)))
                ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_time = now()
                """, logger: logger)
        }
        return changed.map { "functions/\($0.name)" }
    }
}
