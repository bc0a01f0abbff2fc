import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// Pauses driven from the command line (`baton pause`, `resume`, `pauses list`) against real
/// worker processes.
@Suite("pause and resume a project, component or configuration")
struct PauseTests {
    let logger = TestPostgres.shared.logger

    static let catalog = """
        - {kind: project, id: other}
        - {kind: component, id: sleeper, executor: {type: sleep}}
        - {kind: configuration, component: sleeper, id: a, parameters: {seconds: 0.1}}
        - {kind: configuration, component: sleeper, id: b, parameters: {seconds: 0.1}}
        - {kind: component, id: quick, executor: {type: noop}}
        - {kind: configuration, component: quick, id: c}
        - {kind: component, project: other, id: quick, executor: {type: noop}}
        - {kind: configuration, project: other, component: quick, id: c}
        """

    func baton(_ arguments: [String], _ url: String, expect status: Int32 = 0) throws -> String {
        let result = try BatonProcess.run(arguments, databaseURL: url)
        #expect(result.status == status, "baton \(arguments.joined(separator: " ")): \(result.output)")
        return result.output
    }

    func jobs(_ store: Store, _ ids: [Int64]) async throws -> [Job] {
        try await store.jobs(JobFilter(ids: ids, limit: ids.count)).sorted { $0.id < $1.id }
    }

    @Test("jobs kill by filter (direct): 50 waiting jobs of a configuration, in two calls of --limit; a waiting job of another component untouched; jobs retry by filter")
    func bulkKillByFilter() async throws {
        let url = try await TestPostgres.shared.makeDatabase("bulkkill", applying: Self.catalog)
        _ = try baton(["pause", "--component", "sleeper", "--config", "a"], url)
        _ = try baton(["pause", "--component", "quick"], url)
        try await Store.withStore(url: url, logger: logger) { store in
            let held = try await store.createJobs(componentId: "sleeper", configId: "a", count: 50).map(\.id)
            let other = try await store.createJobs(componentId: "quick", configId: "c").map(\.id)
            #expect(try await jobs(store, held + other).allSatisfy { $0.status == .waiting && $0.waitingReason == .paused })

            // Bad input: no filter, an id and a filter, a limit beyond the API's, no --yes without a terminal.
            let none = try BatonProcess.run(["jobs", "kill", "--yes"], databaseURL: url)
            #expect(none.status == 64 && none.output.contains("at least one filter (--status, --component"), "\(none.output)")
            let both = try BatonProcess.run(["jobs", "kill", String(held[0]), "--status", "waiting"], databaseURL: url)
            #expect(both.status == 64 && both.output.contains("give a job id or filter flags"), "\(both.output)")
            let limit = try BatonProcess.run(["jobs", "kill", "--status", "waiting", "--limit", "10001", "--yes"], databaseURL: url)
            #expect(limit.status == 64 && limit.output.contains("--limit must be from 1 to 10000"), "\(limit.output)")
            let unasked = try BatonProcess.run(["jobs", "kill", "--status", "waiting", "--component", "sleeper"], databaseURL: url)
            #expect(unasked.status == 64 && unasked.output.contains("--yes is needed"), "\(unasked.output)")
            let badStatus = try BatonProcess.run(["jobs", "kill", "--status", "stuck", "--yes"], databaseURL: url)
            #expect(badStatus.status == 64 && badStatus.output.contains("--status: unknown status 'stuck'"), "\(badStatus.output)")
            #expect(try await jobs(store, held + other).allSatisfy { $0.status == .waiting }, "refused commands killed nothing")

            let first = try baton(["jobs", "kill", "--status", "waiting", "--component", "sleeper", "--config", "a", "--limit", "20", "--yes"], url)
            #expect(first.contains("killed 20 jobs (20 cancelled, 0 terminating); 30 matching jobs remain"), "\(first)")
            let second = try baton(["jobs", "kill", "--status", "waiting", "--component", "sleeper", "--config", "a", "--yes"], url)
            #expect(second.contains("killed 30 jobs (30 cancelled, 0 terminating); 0 matching jobs remain"), "\(second)")
            let after = try await jobs(store, held)
            #expect(after.allSatisfy { $0.status == .cancelled }, "\(Set(after.map(\.status.rawValue)))")
            #expect(try await jobs(store, other).first?.status == .waiting, "the quick job matches no filter and still waits")

            let retried = try baton(["jobs", "retry", "--status", "cancelled", "--component", "sleeper", "--limit", "5"], url)
            #expect(retried.contains("retried 5 jobs; 45 matching jobs not retried yet"), "\(retried)")
            #expect(retried.contains("job \(held[0]) -> retry job"), "oldest first: \(retried)")
            let noFilter = try BatonProcess.run(["jobs", "retry"], databaseURL: url)
            #expect(noFilter.status == 64 && noFilter.output.contains("give a job id, or at least one filter"), "\(noFilter.output)")
        }
    }

    @Test("a paused configuration's jobs wait with reason paused while others run; resume runs them oldest first, one at a time")
    func configuration() async throws {
        let url = try await TestPostgres.shared.makeDatabase("pausecfg", applying: Self.catalog)
        let workers = try BatonProcess.workers(2, databaseURL: url, arguments: ["--concurrency", "4"])
        defer { for worker in workers { worker.stop() } }
        let paused = try baton(["pause", "--component", "sleeper", "--config", "a"], url)
        #expect(paused.contains("paused configuration default/sleeper/a; 0 queued jobs now wait"))
        try await Store.withStore(url: url, logger: logger) { store in
            var held: [Int64] = []
            for _ in 0..<4 { held += try await store.createJobs(componentId: "sleeper", configId: "a").map(\.id) }
            let others = try await store.createJobs(componentId: "sleeper", configId: "b").map(\.id)
                + store.createJobs(componentId: "quick", configId: "c").map(\.id)
            // The other configurations run to their end although they were queued after the held jobs.
            #expect(try await store.waitForFinal(others).allSatisfy { $0.status == .success })
            let waiting = try await jobs(store, held)
            #expect(waiting.allSatisfy { $0.status == .waiting && $0.waitingReason == .paused && $0.startTime == nil },
                    "\(waiting.map { "\($0.id) \($0.status) \($0.waitingReason?.rawValue ?? "-")" })")

            let listed = try JSONValue.parse(try baton(["pauses", "list", "--json"], url)).arrayValue ?? []
            #expect(listed.count == 1)
            #expect(listed.first?["component"] == "sleeper" && listed.first?["config"] == "a" && listed.first?["waitingJobs"] == 4)
            #expect(try baton(["pauses", "list"], url).contains("default  sleeper    a"))

            let resumed = try baton(["resume", "--component", "sleeper", "--config", "a"], url)
            #expect(resumed.contains("resumed configuration default/sleeper/a; 4 jobs queued again"))
            let done = try await store.waitForFinal(held)
            #expect(done.allSatisfy { $0.status == .success })
            let byStart = done.sorted { $0.startTime! < $1.startTime! }
            #expect(byStart.map(\.id) == held, "oldest first: started in the order \(byStart.map(\.id)), queued as \(held)")
            for (first, next) in zip(byStart, byStart.dropFirst()) {
                #expect(next.startTime! >= first.endTime!, "job \(next.id) started before job \(first.id) ended")
            }
            #expect(try baton(["pauses", "list"], url).contains("nothing is paused"))
        }
    }

    @Test("a project pause holds every component of that project only; a component pause still holds its jobs after the project resumes")
    func projectAndComponent() async throws {
        let url = try await TestPostgres.shared.makeDatabase("pausescope", applying: Self.catalog)
        let workers = try BatonProcess.workers(1, databaseURL: url, arguments: ["--concurrency", "4"])
        defer { for worker in workers { worker.stop() } }
        #expect(try baton(["pause", "--project", "default"], url).contains("paused project default"))
        #expect(try baton(["pause", "--component", "sleeper"], url).contains("paused component default/sleeper"))
        #expect(try baton(["pause", "--component", "sleeper"], url).contains("already paused: component default/sleeper"))
        try await Store.withStore(url: url, logger: logger) { store in
            let sleepers = try await store.createJobs(componentId: "sleeper", configId: "a").map(\.id)
                + store.createJobs(componentId: "sleeper", configId: "b").map(\.id)
            let quick = try await store.createJobs(componentId: "quick", configId: "c").map(\.id)
            let elsewhere = try await store.createJobs(projectId: "other", componentId: "quick", configId: "c").map(\.id)
            #expect(try await store.waitForFinal(elsewhere).allSatisfy { $0.status == .success }, "another project is not held")
            #expect(try await jobs(store, sleepers + quick).allSatisfy { $0.status == .waiting && $0.waitingReason == .paused })

            #expect(try baton(["resume", "--project", "default"], url).contains("resumed project default; 1 job queued again"))
            #expect(try await store.waitForFinal(quick).allSatisfy { $0.status == .success })
            let still = try await jobs(store, sleepers)
            #expect(still.allSatisfy { $0.status == .waiting && $0.waitingReason == .paused }, "the component's own pause holds them")

            #expect(try baton(["resume", "--component", "sleeper"], url).contains("2 jobs queued again"))
            #expect(try await store.waitForFinal(sleepers).allSatisfy { $0.status == .success })
        }
    }

    @Test("a pause survives a restart of the workers: the new fleet leaves its jobs waiting until the resume")
    func survivesRestart() async throws {
        let url = try await TestPostgres.shared.makeDatabase("pauserestart", applying: Self.catalog)
        _ = try baton(["pause", "--component", "sleeper", "--config", "b"], url)
        try await Store.withStore(url: url, logger: logger) { store in
            let held = try await store.createJobs(componentId: "sleeper", configId: "b", count: 3).map(\.id)
            let first = try BatonProcess.workers(1, databaseURL: url)
            #expect(try await store.waitForFinal(try await store.createJobs(componentId: "quick", configId: "c").map(\.id)).allSatisfy { $0.status == .success })
            for worker in first { #expect(worker.stop() == 0) }
            let second = try BatonProcess.workers(2, databaseURL: url)
            defer { for worker in second { worker.stop() } }
            // The new fleet claims (jobs queued after the held ones run to their end), and still none of the held jobs ran.
            #expect(try await store.waitForFinal(try await store.createJobs(componentId: "quick", configId: "c", count: 4).map(\.id)).allSatisfy { $0.status == .success })
            #expect(try await jobs(store, held).allSatisfy { $0.status == .waiting && $0.waitingReason == .paused && $0.attempt == 0 })
            _ = try baton(["resume", "--component", "sleeper", "--config", "b"], url)
            #expect(try await store.waitForFinal(held).allSatisfy { $0.status == .success })
        }
    }

    @Test("bad input names the field: an unknown project, a configuration without its component, resuming what is not paused")
    func badInput() async throws {
        let url = try await TestPostgres.shared.makeDatabase("pausebad", applying: Self.catalog)
        let unknown = try baton(["pause", "--project", "nope"], url, expect: 2)
        #expect(unknown.contains("error: project 'nope' does not exist"))
        let noComponent = try baton(["pause", "--config", "a"], url, expect: 64)
        #expect(noComponent.contains("--component: a configuration is paused with its component"))
        let badId = try baton(["pause", "--component", "bad id"], url, expect: 64)
        #expect(badId.contains("--component: component 'bad id'"))
        let notPaused = try baton(["resume", "--component", "sleeper"], url, expect: 2)
        #expect(notPaused.contains("error: component default/sleeper is not paused"))
        #expect(try baton(["pauses", "list"], url).contains("nothing is paused"), "nothing was written")
    }
}
