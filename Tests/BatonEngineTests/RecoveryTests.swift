import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

@Suite("crash recovery, retries, shutdown and database faults")
struct RecoveryTests {
    let logger = TestPostgres.shared.logger

    func setUp(_ name: String, _ yaml: String) async throws -> String {
        try await TestPostgres.shared.makeDatabase(name, applying: yaml)
    }

    @Test("a worker killed with SIGKILL: its job ends error (worker-lost) within lease + rescue interval, or runs again when it has retries")
    func workerLost() async throws {
        let url = try await setUp("lost", "- {kind: component, id: s, executor: {type: sleep}}\n- {kind: configuration, component: s, id: long, parameters: {seconds: 60}}\n- {kind: configuration, component: s, id: again, parameters: {seconds: 60}}")
        try await Store.withStore(url: url, logger: logger) { store in
            let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
            defer { coordinator.stop() }
            let doomed = try BatonProcess(["worker", "--lease-seconds", "3", "--worker-id", "doomed"], databaseURL: url)
            let plain = try await store.createJobs(componentId: "s", configId: "long")[0]
            let retried = try await store.createJobs(componentId: "s", configId: "again", retries: 1, retryDelaySeconds: 0)[0]
            try await waitUntil(timeout: 30, "both jobs to run") {
                try await store.jobs(JobFilter(ids: [plain.id, retried.id])).allSatisfy { $0.status == .processing }
            }
            kill(doomed.process.processIdentifier, SIGKILL)
            doomed.process.waitUntilExit()
            let killedAt = Date()
            let lost = try await store.waitForFinal([plain.id], timeout: 30)[0]
            #expect(lost.status == .error && lost.result?["reason"] == "worker-lost")
            #expect(Date().timeIntervalSince(killedAt) < 3 + 2 + 5, "rescued within lease (3 s) + rescue interval (2 s), with slack for the poll")
            // The job with a retry left was queued again; a new worker finishes attempt 2.
            try await waitUntil(timeout: 30, "the retried job to be queued again") {
                try await store.job(id: retried.id)?.status == .created
            }
            try await store.client.query("UPDATE configurations SET parameters = '{\"seconds\": 0}' WHERE id = 'again'", logger: logger)
            try await store.client.query("UPDATE jobs SET parameters = '{\"seconds\": 0}' WHERE id = \(retried.id)", logger: logger)
            let rescuer = try BatonProcess(["worker"], databaseURL: url)
            defer { rescuer.stop() }
            let second = try await store.waitForFinal([retried.id], timeout: 30)[0]
            #expect(second.status == .success && second.attempt == 2)
        }
    }

    @Test("a failed attempt with retries left runs again after its delay; attempts show on the job")
    func automaticRetry() async throws {
        let flag = FileManager.default.temporaryDirectory.appendingPathComponent("baton-retry-\(UUID().uuidString)").path
        let url = try await setUp("autoretry", """
            - {kind: component, id: flaky, executor: {type: process, command: ["sh", "-c", "if [ -f \(flag) ]; then echo second; else touch \(flag); echo first >&2; exit 1; fi"]}}
            - {kind: configuration, component: flaky, id: f}
            """)
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let job = try await store.createJobs(componentId: "flaky", configId: "f", retries: 2, retryDelaySeconds: 0.2)[0]
            let done = try await store.waitForFinal([job.id], timeout: 30)[0]
            #expect(done.status == .success && done.attempt == 2)
            #expect(try await store.events(jobId: job.id).contains { $0.message == "attempt 1 of 3 failed; retrying in 0.2 s" })
        }
    }

    @Test("SIGTERM: the worker stops claiming, lets short jobs finish, stops long ones after the drain time (worker-shutdown)")
    func gracefulShutdown() async throws {
        let url = try await setUp("drain", "- {kind: component, id: s, executor: {type: sleep}}\n- {kind: configuration, component: s, id: short, parameters: {seconds: 3}}\n- {kind: configuration, component: s, id: long, parameters: {seconds: 60}}")
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker", "--drain-seconds", "6", "--poll-seconds", "0.5"], databaseURL: url)
            let short = try await store.createJobs(componentId: "s", configId: "short")[0]
            let long = try await store.createJobs(componentId: "s", configId: "long")[0]
            try await waitUntil(timeout: 30, "both jobs to run") {
                try await store.jobs(JobFilter(ids: [short.id, long.id])).allSatisfy { $0.status == .processing }
            }
            kill(worker.process.processIdentifier, SIGTERM)
            let later = try await store.createJobs(componentId: "s", configId: "short")[0]
            worker.process.waitUntilExit()
            #expect(worker.process.terminationStatus == 0)
            let jobs = Dictionary(uniqueKeysWithValues: try await store.jobs(JobFilter(ids: [short.id, long.id, later.id])).map { ($0.id, $0) })
            #expect(jobs[short.id]?.status == .success)
            #expect(jobs[long.id]?.status == .error && jobs[long.id]?.result?["reason"] == "worker-shutdown")
            #expect(jobs[later.id]?.startTime == nil && jobs[later.id]?.status.isFinal == false, "nothing is claimed after SIGTERM")
        }
    }

    @Test("a retry of a failed run reruns the failed phase and the ones after it, records previousJobId, and succeeds")
    func retryRun() async throws {
        let flag = FileManager.default.temporaryDirectory.appendingPathComponent("baton-fixed-\(UUID().uuidString)").path
        let url = try await setUp("retryrun", """
            - {kind: component, id: ok, executor: {type: noop}}
            - {kind: configuration, component: ok, id: a}
            - {kind: configuration, component: ok, id: c}
            - {kind: component, id: check, executor: {type: process, command: ["test", "-f", "\(flag)"]}}
            - {kind: configuration, component: check, id: b}
            - kind: orchestration
              id: flow
              phases: [{id: 1, name: One}, {id: 2, name: Two}, {id: 3, name: Three}]
              tasks:
                - {id: a, name: A, phase: 1, task: {componentId: ok, configId: a}}
                - {id: b, name: B, phase: 2, task: {componentId: check, configId: b}}
                - {id: c, name: C, phase: 3, task: {componentId: ok, configId: c}}
            """)
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
            defer { worker.stop(); coordinator.stop() }
            let first = try await Orchestrations.run(store: store, projectId: "default", id: "flow", only: [], exclude: [])
            #expect(try await store.waitForFinal([first.id])[0].status == .error)
            let plan = try BatonProcess.run(["jobs", "retry-plan", String(first.id), "--json"], databaseURL: url)
            let matched = (try JSONValue.parse(plan.output))["matchedTasks"]?.arrayValue?.filter { $0["matched"] == true }.compactMap { $0["taskId"]?.stringValue }
            #expect(matched == ["b", "c"])
            _ = FileManager.default.createFile(atPath: flag, contents: nil)
            let retry = try BatonProcess.run(["jobs", "retry", String(first.id), "--wait", "--json"], databaseURL: url)
            #expect(retry.status == 0, "\(retry.output)")
            let second = try await store.jobs(JobFilter(componentId: ExecutorSpec.orchestratorComponentId, limit: 1))[0]
            #expect(second.previousJobId == first.id)
            #expect(second.onlyOrchestrationTaskIds == ["b", "c"])
            #expect(Set(try await store.children(of: second.id).map { $0.orchestrationTaskId! }) == ["b", "c"], "task a succeeded and was not rerun")
            #expect(second.status == .success)
        }
    }

    @Test("database backends terminated under a worker and a coordinator: both reconnect and go on")
    func backendsTerminated() async throws {
        let url = try await setUp("faults", "- {kind: component, id: ok, executor: {type: noop}}\n- {kind: configuration, component: ok, id: a}\n- kind: orchestration\n  id: o\n  phases: [{id: 1, name: One}]\n  tasks: [{id: t, name: T, phase: 1, task: {componentId: ok, configId: a}}]")
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
            defer { worker.stop(); coordinator.stop() }
            let before = try await store.createJobs(componentId: "ok", configId: "a")[0]
            _ = try await store.waitForFinal([before.id])
            let database = String(url.split(separator: "/").last!)
            try await store.client.query("""
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(database) AND pid <> pg_backend_pid()
                """, logger: logger)
            let job = try await store.createJobs(componentId: "ok", configId: "a")[0]
            let run = try await Orchestrations.run(store: store, projectId: "default", id: "o", only: [], exclude: [])
            let done = try await store.waitForFinal([job.id, run.id], timeout: 30)
            #expect(done.allSatisfy { $0.status == .success })
            #expect(worker.process.isRunning && coordinator.process.isRunning)
        }
    }
}
