import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

@Suite("the baton command line")
struct CLITests {
    func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("baton-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("apply with a wrong executor, a missing field and a duplicate id exits non-zero, names each, writes nothing")
    func badApply() async throws {
        let url = try await TestPostgres.shared.makeDatabase("cliapply")
        let bad = try file("""
            kind: component
            id: ok
            executor: {type: noop}
            ---
            kind: component
            id: wrong
            executor: {type: docker}
            ---
            kind: configuration
            id: nocomponent
            ---
            kind: component
            id: ok
            executor: {type: noop}
            """)
        let result = try BatonProcess.run(["apply", "-f", bad], databaseURL: url)
        #expect(result.status == 2)
        #expect(result.output.contains("nothing was applied: 3 problems found"))
        #expect(result.output.contains("document 2 (component 'wrong'): executor.type: unknown executor 'docker'"))
        #expect(result.output.contains("document 3 (configuration 'nocomponent'): component: is required"))
        #expect(result.output.contains("document 4 (component 'ok'): id: duplicate component id 'ok'"))
        let list = try BatonProcess.run(["jobs", "list", "--json"], databaseURL: url)
        #expect(list.status == 0)
        let components = try BatonProcess.run(["apply", "-f", try file("kind: configuration\ncomponent: ok\nid: x\n")], databaseURL: url)
        #expect(components.status == 2, "component 'ok' must not exist after the failed apply")
        #expect(components.output.contains("unknown component 'ok'"))
    }

    @Test("projects create and tokens create: the secret is printed once and only its SHA-256 is stored; bad scope and unknown project are refused")
    func tokens() async throws {
        let url = try await TestPostgres.shared.makeDatabase("clitokens")
        #expect(try BatonProcess.run(["projects", "create", "acme", "--name", "Acme"], databaseURL: url).status == 0)
        let again = try BatonProcess.run(["projects", "create", "acme"], databaseURL: url)
        #expect(again.status != 0 && again.output.contains("project 'acme' already exists"))
        let made = try BatonProcess.run(["tokens", "create", "--project", "acme", "--scope", "read", "--description", "dashboards", "--json"], databaseURL: url)
        #expect(made.status == 0, "\(made.output)")
        let token = try JSONValue.parse(made.output)
        guard case .object(let object) = token, case .string(let secret)? = object["secret"] else {
            Issue.record("no secret in \(made.output)"); return
        }
        #expect(secret.hasPrefix("baton_") && secret.count == 46)
        #expect(object["scope"] == "read" && object["projectId"] == "acme")
        try await Store.withStore(url: url, logger: TestPostgres.shared.logger) { store in
            var stored: [String] = []
            for try await text in try await store.client.query("SELECT encode(secret_sha256, 'hex') || description FROM tokens WHERE project_id = 'acme'").decode(String.self) { stored.append(text) }
            #expect(stored.count == 1 && !stored[0].contains(secret), "the secret itself is not stored")
            #expect(try await store.token(secret: secret)?.description == "dashboards")
            #expect(try await store.token(secret: secret + "x") == nil)
        }
        let badScope = try BatonProcess.run(["tokens", "create", "--project", "acme", "--scope", "owner"], databaseURL: url)
        #expect(badScope.status == 2 && badScope.output.contains("scope must be admin, read or trigger:ORCHESTRATION_ID"))
        let noProject = try BatonProcess.run(["tokens", "create", "--project", "nope"], databaseURL: url)
        #expect(noProject.status != 0 && noProject.output.contains("no project 'nope'"))
        let noOrchestration = try BatonProcess.run(["tokens", "create", "--project", "acme", "--scope", "trigger:missing"], databaseURL: url)
        #expect(noOrchestration.status != 0 && noOrchestration.output.contains("no orchestration 'missing'"))
    }

    @Test("schedules list shows the next fire time in UTC; disable clears it; enabling an unknown schedule is refused")
    func schedules() async throws {
        let url = try await TestPostgres.shared.makeDatabase("clischedules")
        let spec = try file("""
            - {kind: component, id: ok, executor: {type: noop}}
            - {kind: configuration, component: ok, id: a}
            - {kind: orchestration, id: flow, phases: [{id: 1, name: One}], tasks: [{id: a, name: A, phase: 1, task: {componentId: ok, configId: a}}]}
            - {kind: schedule, id: daily, orchestration: flow, cron: "30 2 * * *", onOverlap: skip}
            """)
        #expect(try BatonProcess.run(["apply", "-f", spec], databaseURL: url).output.contains("1 schedule(s)"))
        let listed = try JSONValue.parse(try BatonProcess.run(["schedules", "list", "--json"], databaseURL: url).output)
        guard case .array(let rows) = listed, case .object(let row)? = rows.first, case .string(let next)? = row["nextFireTime"] else {
            Issue.record("no schedule listed: \(listed)"); return
        }
        #expect(next.hasSuffix("T02:30:00.000Z") && row["onOverlap"] == "skip")
        #expect(try BatonProcess.run(["schedules", "disable", "daily"], databaseURL: url).status == 0)
        let after = try JSONValue.parse(try BatonProcess.run(["schedules", "list", "--json"], databaseURL: url).output)
        #expect(after == .array([.object(row.merging(["enabled": false, "nextFireTime": .null]) { $1 })]))
        let unknown = try BatonProcess.run(["schedules", "enable", "nope"], databaseURL: url)
        #expect(unknown.status == 2 && unknown.output.contains("no schedule 'nope'"))
    }

    @Test("jobs create for an unknown configuration is refused with a clear message")
    func unknownConfiguration() async throws {
        let url = try await TestPostgres.shared.makeDatabase("clijob")
        let result = try BatonProcess.run(["jobs", "create", "--component", "nope", "--config", "nothing"], databaseURL: url)
        #expect(result.status == 2)
        #expect(result.output.contains("error: unknown configuration 'nothing' of component 'nope'"))
    }

    @Test("jobs create --wait exits 0 on success and 1 on error; list --json prints an array with Keboola's names")
    func waitAndList() async throws {
        let url = try await TestPostgres.shared.makeDatabase("cliwait")
        let applied = try BatonProcess.run(["apply", "-f", try file("""
            - {kind: component, id: ok, executor: {type: noop}}
            - {kind: configuration, component: ok, id: a}
            - {kind: component, id: boom, executor: {type: fail}}
            - {kind: configuration, component: boom, id: b, parameters: {message: broken on purpose}}
            """)], databaseURL: url)
        #expect(applied.status == 0, "\(applied.output)")
        let worker = try BatonProcess(["worker"], databaseURL: url)
        defer { worker.stop() }
        let success = try BatonProcess.run(["jobs", "create", "--component", "ok", "--config", "a", "--wait", "--json"], databaseURL: url)
        #expect(success.status == 0)
        let failure = try BatonProcess.run(["jobs", "create", "--component", "boom", "--config", "b", "--wait"], databaseURL: url)
        #expect(failure.status == 1)
        #expect(failure.output.contains("broken on purpose"))
        let list = try BatonProcess.run(["jobs", "list", "--json", "--status", "error"], databaseURL: url)
        let jobs = try JSONValue.parse(list.output).arrayValue ?? []
        #expect(jobs.count == 1)
        #expect(jobs.first?["status"] == "error" && jobs.first?["component"] == "boom" && jobs.first?["config"] == "b")
        #expect(jobs.first?["runId"] == jobs.first?["id"])
    }

    @Test("apply --dry-run names what would be created, updated or left unchanged, and writes nothing")
    func dryRun() async throws {
        let url = try await TestPostgres.shared.makeDatabase("clidryrun")
        let first = try file("""
            - {kind: component, id: ok, executor: {type: noop}}
            - {kind: configuration, component: ok, id: a, parameters: {n: 1}}
            - {kind: configuration, component: ok, id: b, parameters: {n: 1}}
            """)
        let fresh = try BatonProcess.run(["apply", "-f", first, "--dry-run"], databaseURL: url)
        #expect(fresh.status == 0 && fresh.output.contains("create    configuration default/ok/a") && fresh.output.contains("dry run: 3 to create, 0 to update, 0 unchanged"), "\(fresh.output)")
        #expect(try BatonProcess.run(["configurations", "list"], databaseURL: url).output.contains("no configurations"), "a dry run writes nothing")
        #expect(try BatonProcess.run(["apply", "-f", first], databaseURL: url).status == 0)
        let second = try file("""
            - {kind: component, id: ok, executor: {type: noop}}
            - {kind: configuration, component: ok, id: a, parameters: {n: 2}}
            - {kind: configuration, component: ok, id: b, parameters: {n: 1}}
            - {kind: configuration, component: ok, id: c}
            """)
        let changed = try BatonProcess.run(["apply", "-f", second, "--dry-run"], databaseURL: url)
        #expect(changed.output.contains("unchanged component default/ok") && changed.output.contains("update    configuration default/ok/a")
                && changed.output.contains("unchanged configuration default/ok/b") && changed.output.contains("create    configuration default/ok/c"), "\(changed.output)")
        #expect(changed.output.contains("dry run: 1 to create, 1 to update, 2 unchanged; nothing was written"))
        let bad = try BatonProcess.run(["apply", "-f", try file("kind: configuration\ncomponent: nope\nid: x\n"), "--dry-run"], databaseURL: url)
        #expect(bad.status == 2 && bad.output.contains("nothing was applied: 1 problem found"), "a dry run checks the file as apply does: \(bad.output)")
    }
}
