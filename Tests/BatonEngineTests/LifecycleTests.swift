import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

@Suite("kill and timeouts")
struct LifecycleTests {
    let logger = TestPostgres.shared.logger

    @Test("a job killed before it starts ends cancelled; killing a finished job is refused")
    func cancelBeforeStart() async throws {
        let url = try await TestPostgres.shared.makeDatabase("cancel", applying: "- {kind: component, id: ok, executor: {type: noop}}\n- {kind: configuration, component: ok, id: a}")
        try await Store.withStore(url: url, logger: logger) { store in
            let job = try await store.createJobs(componentId: "ok", configId: "a")[0]
            #expect(try await store.killJob(id: job.id) == .cancelled)
            let cancelled = try await store.job(id: job.id)!
            #expect(cancelled.status == .cancelled && cancelled.desiredStatus == .terminating && cancelled.endTime != nil && cancelled.startTime == nil)
            let again = try BatonProcess.run(["jobs", "kill", String(job.id)], databaseURL: url)
            #expect(again.status == 2)
            #expect(again.output.contains("job \(job.id) has already finished (cancelled): there is nothing to kill"))
            // A worker started afterwards never runs it.
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let next = try await store.createJobs(componentId: "ok", configId: "a")[0]
            _ = try await store.waitForFinal([next.id])
            #expect(try await store.job(id: job.id)?.status == .cancelled)
        }
    }

    @Test("killing a running process job ends it terminated and its process group is gone")
    func terminateProcess() async throws {
        let url = try await TestPostgres.shared.makeDatabase("terminate", applying: """
                - {kind: component, id: long, executor: {type: process, command: ["sh", "-c", "echo $$; sleep 60; echo never"]}}
                - {kind: configuration, component: long, id: l}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let job = try await store.createJobs(componentId: "long", configId: "l")[0]
            var pid: Int32?
            try await waitUntil(timeout: 30, "the process to start") {
                // The job's first line is its shell's pid: the leader of the job's process group.
                pid = try await store.events(jobId: job.id).first { $0.stream == .stdout }.flatMap { Int32($0.message) }
                return pid != nil
            }
            #expect(try await store.killJob(id: job.id) == .terminating)
            let done = try await store.waitForFinal([job.id], timeout: 30)[0]
            #expect(done.status == .terminated)
            // The job ends once its processes exited.
            #expect(kill(-pid!, 0) == -1 && errno == ESRCH, "the job's process group is gone when the job is final")
            #expect(try await store.events(jobId: job.id).contains { $0.message == "kill requested: stopping" })
            #expect(worker.process.isRunning)
        }
    }

    @Test("a job over its timeout is stopped and ends error with reason timeout")
    func timeout() async throws {
        let url = try await TestPostgres.shared.makeDatabase("timeout", applying: "- {kind: component, id: s, executor: {type: sleep}}\n- {kind: configuration, component: s, id: slow, parameters: {seconds: 60}}")
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let job = try await store.createJobs(componentId: "s", configId: "slow", timeoutSeconds: 0.5)[0]
            let done = try await store.waitForFinal([job.id], timeout: 30)[0]
            #expect(done.status == .error)
            #expect(done.result?["reason"] == "timeout")
            #expect(done.durationSeconds! >= 0.5 && done.durationSeconds! < 30)
        }
    }

    @Test("a component's default timeout applies to its jobs; a job's own timeout wins")
    func componentTimeout() async throws {
        let url = try await TestPostgres.shared.makeDatabase("comptimeout", applying: "- {kind: component, id: s, executor: {type: sleep}, timeoutSeconds: 0.3}\n- {kind: configuration, component: s, id: slow, parameters: {seconds: 60}}")
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let defaulted = try await store.createJobs(componentId: "s", configId: "slow")[0]
            #expect(defaulted.timeoutSeconds == 0.3)
            #expect(try await store.waitForFinal([defaulted.id], timeout: 30)[0].result?["reason"] == "timeout")
            let own = try await store.createJobs(componentId: "s", configId: "slow", timeoutSeconds: 0.6)[0]
            #expect(own.timeoutSeconds == 0.6)
            _ = try await store.killJob(id: own.id)
        }
    }

    @Test("killing an orchestration run terminates its running task jobs and starts no more phases")
    func killCascade() async throws {
        let url = try await TestPostgres.shared.makeDatabase("cascade", applying: """
                - {kind: component, id: s, executor: {type: sleep}}
                - {kind: configuration, component: s, id: slow, parameters: {seconds: 60}}
                - {kind: configuration, component: s, id: quick, parameters: {seconds: 0}}
                - kind: orchestration
                  id: doomed
                  phases: [{id: 1, name: One}, {id: 2, name: Two}]
                  tasks:
                    - {id: a, name: A, phase: 1, task: {componentId: s, configId: slow}}
                    - {id: b, name: B, phase: 2, task: {componentId: s, configId: quick}}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
            defer { worker.stop(); coordinator.stop() }
            let run = try await Orchestrations.run(store: store, projectId: "default", id: "doomed", only: [], exclude: [])
            try await waitUntil(timeout: 30, "task a to run") {
                try await store.children(of: run.id).first?.status == .processing
            }
            #expect(try await store.killJob(id: run.id) == .terminating)
            let parent = try await store.waitForFinal([run.id], timeout: 30)[0]
            let children = try await store.children(of: run.id)
            #expect(parent.status == .terminated)
            #expect(children.map(\.orchestrationTaskId) == ["a"])
            #expect(children.first?.status == .terminated)
        }
    }

    @Test("a late result from a worker whose claim was taken over is refused")
    func fencing() async throws {
        let url = try await TestPostgres.shared.makeDatabase("fencing", applying: "- {kind: component, id: ok, executor: {type: noop}}\n- {kind: configuration, component: ok, id: a}")
        try await Store.withStore(url: url, logger: logger) { store in
            let job = try await store.createJobs(componentId: "ok", configId: "a")[0]
            let claimed = try await store.withWorkerSession(workerId: "old", leaseSeconds: 30) { session in
                try await session.turn(outcomes: [], claimLimit: 1, components: nil).claimed
            }
            #expect(claimed.map(\.id) == [job.id])
            // Another worker took the job over (as a rescue would): a new attempt.
            try await store.client.query("UPDATE jobs SET worker_id = 'new', attempt = attempt + 1 WHERE id = \(job.id)", logger: logger)
            let accepted = try await store.withWorkerSession(workerId: "old", leaseSeconds: 30) { session in
                try await session.turn(outcomes: [JobOutcome(id: job.id, attempt: claimed[0].attempt, status: .success, result: [:])], claimLimit: 0, components: nil).accepted
            }
            #expect(accepted.isEmpty)
            let current = try await store.job(id: job.id)!
            #expect(current.status == .processing && current.workerId == "new")
        }
    }
}
