import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// The command line on a machine that has only the API's address and a token: no DATABASE_URL.
@Suite("the CLI through the API (--api-url, --token)", .serialized)
struct RemoteCLITests {
    /// A migrated database, a live `baton api`, a worker and a coordinator (they have the
    /// database; the CLI under test does not), and tokens of each scope.
    final class Fleet: @unchecked Sendable {
        let url: String
        let api: LiveAPI
        let others: [BatonProcess]
        let admin: String
        let read: String

        init(_ name: String) async throws {
            url = try await TestPostgres.shared.makeDatabase(name)
            api = try await LiveAPI(databaseURL: url)
            let made = try await Store.withStore(url: url, logger: TestPostgres.shared.logger) { store in
                var made: [String] = []
                for scope in [TokenScope.admin, .read] {
                    made.append(try await store.createToken(projectId: "default", scope: scope, description: "remote cli \(scope)").1)
                }
                return made
            }
            (admin, read) = (made[0], made[1])
            others = [try BatonProcess(["worker", "--concurrency", "4", "--sql-target", "warehouse=DATABASE_URL", "--poll-seconds", "1"], databaseURL: url),
                      try BatonProcess(["coordinator"], databaseURL: url)]
        }

        /// `baton ARGS` with BATON_API_URL and BATON_TOKEN, and DATABASE_URL unset.
        func cli(_ arguments: [String], token: String? = nil, apiURL: String? = nil) throws -> (status: Int32, output: String) {
            try BatonProcess.run(arguments, databaseURL: nil, environment: ["BATON_API_URL": apiURL ?? api.base, "BATON_TOKEN": token ?? admin], timeout: 120)
        }

        deinit { for process in others { process.stop() } }
    }

    @Test("the README's first session runs through the API with a token and no database URL")
    func firstSession() async throws {
        let fleet = try await Fleet("remotefirst")
        func ok(_ arguments: [String], _ expected: String) throws -> String {
            let result = try fleet.cli(arguments)
            #expect(result.status == 0, "baton \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)")
            #expect(result.output.contains(expected), "baton \(arguments.joined(separator: " ")) printed: \(result.output)")
            return result.output
        }
        _ = try ok(["apply", "-f", "examples/nightly.yaml", "--dry-run"], "dry run: 10 to create, 0 to update, 0 unchanged; nothing was written")
        _ = try ok(["apply", "-f", "examples/nightly.yaml"], "applied 0 project(s), 3 component(s), 6 configuration(s), 1 orchestration(s)")
        _ = try ok(["apply", "-f", "examples/nightly.yaml", "--dry-run"], "0 to create, 0 to update, 10 unchanged")
        let created = try ok(["jobs", "create", "--component", "extract", "--config", "orders", "--wait"], "status           success")
        let id = created.split(separator: "\n").first { $0.hasPrefix("id ") }.map { $0.split(separator: " ").last.map(String.init) ?? "" } ?? ""
        _ = try ok(["jobs", "list"], "extract    orders")
        _ = try ok(["jobs", "events", id], "stdout done")
        _ = try ok(["plan", "nightly"], "orchestration 'nightly': 5 of 5 tasks would run")
        _ = try ok(["orchestrations", "list"], "Extract > Transform > Publish")
        _ = try ok(["configurations", "list", "--component", "extract"], "Extract orders")
        let run = try fleet.cli(["run", "nightly", "--watch"])
        #expect(run.status == 0, "warning counts as success: \(run.output)")
        #expect(run.output.contains("task ads (job") && run.output.contains("ended error"), "the failing task is named: \(run.output)")
        #expect(run.output.contains("stderr source did not answer"), "its log's last lines are shown: \(run.output)")
        #expect(run.output.contains("of orchestration 'nightly': warning"))
        let runs = try JSONValue.parse(try ok(["jobs", "list", "--component", "keboola.orchestrator", "--json"], "nightly")).arrayValue ?? []
        #expect(runs.count == 1 && runs.first?["initializedBy"] == "api" && runs.first?["status"] == "warning")
    }

    @Test("through the API: pause a configuration, see its jobs held, bulk-kill them by filter, resume; a schedule disabled, enabled and run now")
    func operations() async throws {
        let fleet = try await Fleet("remoteops")
        func ok(_ arguments: [String], _ expected: String) throws -> String {
            let result = try fleet.cli(arguments)
            #expect(result.status == 0, "baton \(arguments.joined(separator: " ")) exited \(result.status): \(result.output)")
            #expect(result.output.contains(expected), "baton \(arguments.joined(separator: " ")) printed: \(result.output)")
            return result.output
        }
        _ = try ok(["apply", "-f", "examples/nightly.yaml"], "applied")
        _ = try ok(["pause", "--component", "extract", "--config", "orders"], "paused configuration default/extract/orders; 0 queued jobs")
        let again = try fleet.cli(["pause", "--project", "other", "--component", "extract"])
        #expect(again.status == 2 && again.output.contains("this token acts for project 'default', not 'other'"), "\(again.output)")
        var ids: [Int64] = []
        for _ in 0..<3 {
            let created = try ok(["jobs", "create", "--component", "extract", "--config", "orders", "--json"], "waiting")
            ids.append(try #require(JSONValue.parse(created)["id"]?.stringValue.flatMap { Int64($0) }))
        }
        let listed = try JSONValue.parse(try ok(["pauses", "list", "--json"], "orders")).arrayValue ?? []
        #expect(listed.count == 1 && listed.first?["config"] == "orders" && listed.first?["waitingJobs"] == 3, "\(listed)")

        let refused = try fleet.cli(["jobs", "kill", "--yes"])
        #expect(refused.status == 64 && refused.output.contains("at least one filter (--status"), "\(refused.output)")
        _ = try ok(["jobs", "kill", "--status", "waiting", "--config", "orders", "--limit", "2", "--yes"], "killed 2 jobs (2 cancelled, 0 terminating); 1 matching job remains")
        _ = try ok(["jobs", "kill", "--status", "waiting", "--config", "orders", "--yes"], "killed 1 job (1 cancelled, 0 terminating); 0 matching jobs remain")
        for id in ids { _ = try ok(["jobs", "show", String(id)], "cancelled") }
        let forbidden = try fleet.cli(["jobs", "kill", "--status", "waiting", "--yes"], token: fleet.read)
        #expect(forbidden.status == 1 && forbidden.output.contains("the token may not POST /v1/jobs/kill"), "\(forbidden.output)")

        _ = try ok(["resume", "--component", "extract", "--config", "orders"], "resumed configuration default/extract/orders; 0 jobs queued again")
        let notPaused = try fleet.cli(["resume", "--component", "extract", "--config", "orders"])
        #expect(notPaused.status != 0 && notPaused.output.contains("is not paused"), "\(notPaused.output)")
        _ = try ok(["pauses", "list"], "nothing is paused")

        let retried = try ok(["jobs", "retry", "--status", "cancelled", "--config", "orders", "--limit", "1"], "retried 1 job; 2 matching jobs not retried yet")
        #expect(retried.contains("job \(ids[0]) -> retry job"), "\(retried)")

        // Schedules are applied with the database (the API does not store them); the rest goes through the API.
        let applied = try BatonProcess.run(["apply", "-f", try Self.file("- {kind: schedule, id: daily, orchestration: nightly, cron: \"30 2 * * *\"}\n")], databaseURL: fleet.url)
        #expect(applied.status == 0, "\(applied.output)")
        let schedule = "daily"
        _ = try ok(["schedules", "disable", schedule], "disabled schedule \(schedule)")
        #expect(try ok(["schedules", "list"], schedule).contains("  no  "))
        _ = try ok(["schedules", "enable", schedule], "enabled schedule \(schedule)")
        let run = try ok(["schedules", "run", schedule], "created run")
        let runId = try #require(run.split(separator: " ").dropFirst(2).first.flatMap { Int64($0) }, "\(run)")
        _ = try ok(["jobs", "show", String(runId)], "nightly")
    }

    @Test("errors say what to do: 401 names the token, 403 the scope needed, an unreachable API says so, another project is refused")
    func errors() async throws {
        let fleet = try await Fleet("remoteerrors")
        let forbidden = try fleet.cli(["jobs", "kill", "1"], token: fleet.read)
        #expect(forbidden.status == 1)
        #expect(forbidden.output.contains("the token may not POST /v1/jobs/1/kill") && forbidden.output.contains("this needs an admin token"), "\(forbidden.output)")
        let unknown = try fleet.cli(["jobs", "list"], token: "baton_not_a_token")
        #expect(unknown.status == 1 && unknown.output.contains("the API refused the token (401)"), "\(unknown.output)")
        let down = try fleet.cli(["jobs", "list"], apiURL: "http://127.0.0.1:9")
        #expect(down.status == 1 && down.output.contains("the API at http://127.0.0.1:9 is unreachable"), "\(down.output)")
        let elsewhere = try fleet.cli(["jobs", "list", "--project", "other"])
        #expect(elsewhere.status == 2 && elsewhere.output.contains("this token acts for project 'default', not 'other'"), "\(elsewhere.output)")
        let noToken = try BatonProcess.run(["jobs", "list"], databaseURL: nil, environment: ["BATON_API_URL": fleet.api.base])
        #expect(noToken.status == 64 && noToken.output.contains("needs a token: pass --token or set BATON_TOKEN"), "\(noToken.output)")
        let badLimit = try fleet.cli(["jobs", "list", "--limit", "501"])
        #expect(badLimit.status == 64 && badLimit.output.contains("--limit must be from 1 to 500"), "the API's limit: \(badLimit.output)")
        let schedule = try fleet.cli(["apply", "-f", "examples/nightly.yaml"], token: fleet.read)
        #expect(schedule.status == 1 && schedule.output.contains("this needs an admin token"), "\(schedule.output)")
        let kinds = try fleet.cli(["apply", "-f", try Self.file("- {kind: project, id: x}\n- {kind: component, project: other, id: c, executor: {type: noop}}\n")])
        #expect(kinds.status == 2, "\(kinds.output)")
        #expect(kinds.output.contains("document 1 (project 'x'): kind: the API stores only component, configuration, orchestration"))
        #expect(kinds.output.contains("document 2 (component 'c'): project: this token acts for project 'default', not 'other'"))
        let migrate = try fleet.cli(["migrate"])
        #expect(migrate.status == 64 && migrate.output.contains("BATON_API_URL is set, but this command has no API operation: it needs the database"), "a command the API does not cover says what it needs: \(migrate.output)")
    }

    static func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("baton-remote-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
