import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// `Fixtures/schema-014-6ab6a67.dump` is a pg_dump of a database migrated by commit 6ab6a67 (the
/// last schema whose functions lived inside the numbered migrations), with jobs in every status:
/// a warning, a success and an error run, finished plain jobs, one processing, one terminating,
/// one terminated, one cancelled, two waiting on the configuration lock, one created, a run not
/// yet started; tokens, a schedule, a notification subscription and job events.
@Suite("upgrading a database from an earlier schema")
struct UpgradeTests {
    let logger = TestPostgres.shared.logger

    @Test("a database at the schema of 6ab6a67 with jobs in every status upgrades without loss, to the schema of a new database")
    func upgradeFrom014() async throws {
        let old = try await TestPostgres.shared.makeDatabase("upgrade", migrate: false)
        try Psql.run(url: old, file: Self.fixture)
        let fresh = try await TestPostgres.shared.makeDatabase("upgradefresh")
        let rowsQuery = """
            SELECT id, type, status::text, desired_status::text, coalesce(waiting_reason, '-'), attempt,
                   coalesce(worker_id, '-'), coalesce(result::text, '-'), (SELECT count(*) FROM job_events e WHERE e.job_id = j.id)
            FROM jobs j ORDER BY id
            """
        let before = try Psql.query(url: old, rowsQuery)
        let tables = ["tokens", "schedules", "notification_subscriptions", "configurations", "components", "projects", "job_events"]
        let countsBefore = try tables.map { try Psql.query(url: old, "SELECT count(*) FROM \($0)") }
        #expect(before.count == 19)
        #expect(Set(before.map { $0[2] }) == ["success", "warning", "error", "processing", "terminating", "terminated", "cancelled", "waiting", "created"],
                "the fixture holds every status")

        let applied = try await Store.withStore(url: old, logger: logger) { store in
            try await Migrator(directory: try Migrator.defaultDirectory()).migrate(store)
        }
        #expect(applied.contains("functions/claim_jobs.sql"))
        #expect(try Psql.query(url: old, rowsQuery) == before, "every job, its status, attempt, worker, result and events are kept")
        #expect(try tables.map { try Psql.query(url: old, "SELECT count(*) FROM \($0)") } == countsBefore)
        #expect(try Psql.schema(url: old) == Psql.schema(url: fresh), "the upgraded schema is the schema of a new database")

        // And it works: the job that was created is claimed and finished, and the jobs queued
        // behind the running ones stay queued.
        try await Store.withStore(url: old, logger: logger) { store in
            try await store.withWorkerSession(workerId: "upgrade-test", leaseSeconds: 30) { session in
                let (_, claimed) = try await session.turn(outcomes: [], claimLimit: 10, components: nil)
                #expect(claimed.map(\.id) == [16], "the created job of default/extract/orders; the others wait behind running jobs")
                let (accepted, _) = try await session.turn(outcomes: [JobOutcome(id: 16, attempt: 1, status: .success, result: ["message": "ok"])],
                                                           claimLimit: 0, components: nil)
                #expect(accepted == [16])
            }
            #expect(try await store.job(id: 16)?.status == .success)
        }
        // A second migrate applies nothing.
        let again = try await Store.withStore(url: old, logger: logger) { store in
            try await Migrator(directory: try Migrator.defaultDirectory()).migrate(store)
        }
        #expect(again.isEmpty)
    }

    @Test("a changed function file is applied again, alone; a broken one changes nothing and names itself")
    func changedFunctionFile() async throws {
        let url = try await TestPostgres.shared.makeDatabase("functionfiles")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("baton-sql-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: try Migrator.defaultDirectory(), toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let ranks = copy + "/functions/live_workers.sql"
        try (try String(contentsOfFile: ranks, encoding: .utf8) + "\nCOMMENT ON FUNCTION live_workers() IS 'changed';\n")
            .write(toFile: ranks, atomically: true, encoding: .utf8)
        let applied = try await Store.withStore(url: url, logger: logger) { try await Migrator(directory: copy).migrate($0) }
        #expect(applied == ["functions/live_workers.sql"])
        #expect(try Psql.query(url: url, "SELECT obj_description('live_workers'::regproc, 'pg_proc')") == [["changed"]])

        // Two files change; the second fails: neither is applied, and the error names the file.
        try (try String(contentsOfFile: ranks, encoding: .utf8) + "\nCOMMENT ON FUNCTION live_workers() IS 'changed again';\n")
            .write(toFile: ranks, atomically: true, encoding: .utf8)
        try "CREATE OR REPLACE FUNCTION zz_broken() RETURNS int LANGUAGE sql AS $$ SELECT no_such_column FROM jobs $$;\n"
            .write(toFile: copy + "/functions/zz_broken.sql", atomically: true, encoding: .utf8)
        let error = await #expect(throws: BatonError.self) {
            try await Store.withStore(url: url, logger: logger) { try await Migrator(directory: copy).migrate($0) }
        }
        #expect(error?.message.contains("sql/functions/zz_broken.sql failed") == true, "\(String(describing: error))")
        #expect(try Psql.query(url: url, "SELECT obj_description('live_workers'::regproc, 'pg_proc')") == [["changed"]], "rolled back together")
    }

    static var fixture: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/schema-014-6ab6a67.dump").path
    }
}

/// psql, for what the Swift client cannot do: restore a pg_dump (COPY FROM stdin) and dump a schema.
enum Psql {
    static func run(url: String, file: String) throws {
        _ = try tool("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", file])
    }

    /// Rows of a query, each a list of its columns as text.
    static func query(url: String, _ sql: String) throws -> [[String]] {
        try tool("psql", ["-X", "-q", "-A", "-t", "-F", "\u{1F}", "-d", url, "-c", sql])
            .split(separator: "\n", omittingEmptySubsequences: true).map { $0.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init) }
    }

    /// `pg_dump --schema-only`, without the lines that differ between two dumps of one schema.
    static func schema(url: String) throws -> String {
        try tool("pg_dump", ["--schema-only", "--no-owner", "--no-privileges", "-d", url])
            .split(separator: "\n").filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }.joined(separator: "\n")
    }

    static func tool(_ name: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [name] + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BatonError(.environment, "\(name) failed (\(process.terminationStatus)): \(String(decoding: message, as: UTF8.self).prefix(500))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
