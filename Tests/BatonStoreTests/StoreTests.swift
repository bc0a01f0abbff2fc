import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import PostgresNIO
import Testing

@Suite("store against a real PostgreSQL")
struct StoreTests {
    let logger = TestPostgres.shared.logger

    func counts(_ store: Store) async throws -> [Int] {
        var result: [Int] = []
        for table in ["projects", "components", "configurations", "jobs"] {
            let rows = try await store.client.query(PostgresQueryHelper.count(table), logger: logger)
            for try await n in rows.decode(Int.self) { result.append(n) }
        }
        return result
    }

    @Test("two migrators started at once apply each migration exactly once")
    func concurrentMigrate() async throws {
        let url = try await TestPostgres.shared.makeDatabase("migrate", migrate: false)
        let migrator = try Migrator(directory: try Migrator.defaultDirectory())
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<2 {
                group.addTask { try await Store.withStore(url: url, logger: self.logger) { try await migrator.migrate($0) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // They take turns step by step: together they applied each file once.
        #expect(applied.flatMap { $0 }.sorted() == (migrator.migrations.map(\.name) + migrator.definitions.map { "functions/\($0.name)" }).sorted())
        try await Store.withStore(url: url, logger: logger) { store in
            var versions: [Int] = []
            for try await v in try await store.client.query("SELECT version FROM schema_migrations ORDER BY 1", logger: logger).decode(Int.self) { versions.append(v) }
            #expect(versions == migrator.migrations.map(\.version))
        }
    }

    @Test("one event that cannot be stored (its job is gone) does not take the others of its batch with it")
    func eventBatchFallback() async throws {
        let url = try await TestPostgres.shared.makeDatabase("eventbatch", applying: "- {kind: component, id: ok, executor: {type: noop}}\n- {kind: configuration, component: ok, id: a}")
        try await Store.withStore(url: url, logger: logger) { store in
            let job = try await store.createJobs(componentId: "ok", configId: "a")[0]
            _ = try? await store.appendEvents([NewEvent(jobId: job.id, stream: .stdout, message: "kept"),
                                               NewEvent(jobId: 999_999, stream: .stdout, message: "its job does not exist"),
                                               NewEvent(jobId: job.id, stream: .stdout, message: "kept too \u{0}")])
            #expect(try await store.events(jobId: job.id).map(\.message) == ["kept", "kept too \u{FFFD}"])
        }
    }

    @Test("every table and column explains itself with COMMENT ON")
    func comments() async throws {
        let url = try await TestPostgres.shared.makeDatabase("comments")
        try await Store.withStore(url: url, logger: logger) { store in
            var missing: [String] = []
            let rows = try await store.client.query("""
                SELECT c.relname || coalesce('.' || a.attname, '')
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE c.relkind = 'r'
                  AND (obj_description(c.oid, 'pg_class') IS NULL OR col_description(c.oid, a.attnum) IS NULL)
                ORDER BY 1
                """, logger: logger)
            for try await name in rows.decode(String.self) { missing.append(name) }
            #expect(missing.isEmpty, "without a comment: \(missing)")
            var tables: [String] = []
            for try await name in try await store.client.query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", logger: logger).decode(String.self) { tables.append(name) }
            #expect(tables == ["components", "configurations", "console_sessions", "job_events", "jobs", "leaders", "notification_subscriptions", "notifications", "pauses", "projects",
                              "schedule_firings", "schedules", "schema_functions", "schema_migrations", "tokens", "workers"])
        }
    }

    @Test("every query of sql/inspect.sql runs against the current schema")
    func inspectQueriesRun() async throws {
        let url = try await TestPostgres.shared.makeDatabase("inspect")
        let file = try Migrator.defaultDirectory() + "/inspect.sql"
        let statements = SQLScript.statements(try String(contentsOfFile: file, encoding: .utf8))
        #expect(statements.count >= 6)
        try await Store.withStore(url: url, logger: logger) { store in
            for statement in statements {
                do {
                    for try await _ in try await store.client.query(PostgresQuery(unsafeSQL: statement), logger: logger) {}
                } catch {
                    Issue.record("sql/inspect.sql: \(String(reflecting: error).prefix(300))\n\(statement.prefix(200))")
                }
            }
        }
    }

    @Test("a bad apply file leaves the database unchanged")
    func applyIsAllOrNothing() async throws {
        let url = try await TestPostgres.shared.makeDatabase("apply", applying: """
                kind: component
                id: keep
                executor: {type: noop}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            let before = try await counts(store)
            let bad = try Documents.parse("""
                kind: component
                id: fresh
                executor: {type: noop}
                ---
                kind: configuration
                component: fresh
                id: one
                ---
                kind: component
                id: broken
                executor: {type: docker}
                """)
            await #expect(throws: BatonError.self) { try await Apply.apply(bad, store: store) }
            do {
                _ = try await Apply.apply(bad, store: store)
            } catch let error as BatonError {
                #expect(error.details == ["document 3 (component 'broken'): executor.type: unknown executor 'docker': use one of process, http, sql, noop, sleep, fail"])
            }
            #expect(try await counts(store) == before)
        }
    }

    @Test("a job for an unknown configuration is refused with what to do")
    func unknownConfiguration() async throws {
        let url = try await TestPostgres.shared.makeDatabase("unknowncfg")
        try await Store.withStore(url: url, logger: logger) { store in
            do {
                _ = try await store.createJobs(componentId: "nope", configId: "missing")
                Issue.record("expected an error")
            } catch let error as BatonError {
                #expect(error.code == .notFound)
                #expect(error.message.contains("unknown configuration 'missing' of component 'nope'"))
                #expect(error.message.contains("baton apply"))
            }
            #expect(try await counts(store)[3] == 0)
        }
    }

    @Test("a job freezes its parameters: configuration overlaid by the job's configData")
    func jobParameters() async throws {
        let url = try await TestPostgres.shared.makeDatabase("params", applying: """
                - {kind: component, id: s, executor: {type: sleep}}
                - {kind: configuration, component: s, id: c, parameters: {seconds: 1, label: base}}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            let job = try await store.createJobs(componentId: "s", configId: "c", configData: ["seconds": 0])[0]
            #expect(job.parameters == ["seconds": 0, "label": "base"])
            #expect(job.runId == String(job.id))
            #expect(job.status == .created)
            await #expect(throws: BatonError.self) {
                _ = try await store.createJobs(componentId: "s", configId: "c", configData: ["seconds": "x"])
            }
        }
    }
}

import PostgresNIO

enum PostgresQueryHelper {
    static func count(_ table: String) -> PostgresQuery { PostgresQuery(unsafeSQL: "SELECT count(*)::bigint FROM \(table)") }
}
