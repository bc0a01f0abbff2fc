import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// A project's limit costs only that project: projects with free capacity are served in turn,
/// and a limit that changes takes effect at the next claim.
@Suite("fair share across projects")
struct FairShareTests {
    let logger = TestPostgres.shared.logger

    @Test("project A at its limit with 60 jobs queued behind it: project B's job starts within a second on a worker with free slots")
    func noStarvation() async throws {
        let url = try await TestPostgres.shared.makeDatabase("starve", applying: """
            - {kind: project, id: a, maxParallelJobs: 1}
            - {kind: project, id: b}
            - {kind: component, project: a, id: s, executor: {type: sleep}}
            - {kind: configuration, project: a, component: s, id: long, parameters: {seconds: 20}}
            \((1...60).map { "- {kind: configuration, project: a, component: s, id: q\($0), parameters: {seconds: 0}}" }.joined(separator: "\n"))
            - {kind: component, project: b, id: s, executor: {type: noop}}
            - {kind: configuration, project: b, component: s, id: x}
            """)
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker", "--concurrency", "4"], databaseURL: url)
            defer { worker.stop() }
            let long = try await store.createJobs(projectId: "a", componentId: "s", configId: "long")[0]
            try await waitUntil(timeout: 30, "A's long job to run") { try await store.job(id: long.id)?.status == .processing }
            for i in 1...60 { _ = try await store.createJobs(projectId: "a", componentId: "s", configId: "q\(i)") }
            // The worker looks at A's backlog (and finds A at its limit) before B arrives.
            try await waitUntil(timeout: 30, "a claim to hold A's backlog back") {
                try await store.jobs(JobFilter(projectId: "a", statuses: [.waiting], limit: 100)).contains { $0.waitingReason == .projectLimit }
            }
            let b = try await store.createJobs(projectId: "b", componentId: "s", configId: "x")[0]
            let done = try await store.waitForFinal([b.id], timeout: 30)[0]
            let waited = done.startTime!.timeIntervalSince(done.createdTime)
            #expect(done.status == .success)
            #expect(waited < 1, "B's job waited \(waited) s behind A's backlog")
        }
    }

    @Test("a limit lowered from 10 to 5 while jobs hold slots 7 to 9: no more than 5 run until the project is under it")
    func loweredLimit() async throws {
        let url = try await TestPostgres.shared.makeDatabase("lowered", applying: """
            - {kind: project, id: p, maxParallelJobs: 10}
            - {kind: component, project: p, id: s, executor: {type: noop}}
            \((1...20).map { "- {kind: configuration, project: p, component: s, id: c\($0)}" }.joined(separator: "\n"))
            """)
        try await Store.withStore(url: url, logger: logger) { store in
            for i in 1...10 { _ = try await store.createJobs(projectId: "p", componentId: "s", configId: "c\(i)") }
            try await store.withWorkerSession(workerId: "w", leaseSeconds: 60) { session in
                let running = try await session.turn(outcomes: [], claimLimit: 10, components: nil).claimed
                #expect(running.count == 10)
                // End the jobs in slots 0..6: the ones left hold slots 7, 8 and 9.
                var slots: [Int64: Int] = [:]
                for try await (id, slot) in try await store.client.query("SELECT id, project_slot FROM jobs WHERE project_id = 'p' AND status = 'processing'", logger: logger).decode((Int64, Int32).self) {
                    slots[id] = Int(slot)
                }
                let ending = running.filter { slots[$0.id]! < 7 }
                #expect(ending.count == 7)
                _ = try await session.turn(outcomes: ending.map { JobOutcome(id: $0.id, attempt: $0.attempt, status: .success, result: [:]) },
                                           claimLimit: 0, components: nil)
                try await store.client.query("UPDATE projects SET max_parallel_jobs = 5 WHERE id = 'p'", logger: logger)
                for i in 11...20 { _ = try await store.createJobs(projectId: "p", componentId: "s", configId: "c\(i)") }
                let more = try await session.turn(outcomes: [], claimLimit: 10, components: nil).claimed
                #expect(more.count == 2, "3 run over the new limit of 5: only 2 more may start, \(more.count) did")
                #expect(try await session.turn(outcomes: [], claimLimit: 10, components: nil).claimed.isEmpty)
            }
        }
    }

    @Test("a limit raised from 1 to 3 takes effect at the next claim")
    func raisedLimit() async throws {
        let url = try await TestPostgres.shared.makeDatabase("raised", applying: """
            - {kind: project, id: p, maxParallelJobs: 1}
            - {kind: component, project: p, id: s, executor: {type: noop}}
            \((1...5).map { "- {kind: configuration, project: p, component: s, id: c\($0)}" }.joined(separator: "\n"))
            """)
        try await Store.withStore(url: url, logger: logger) { store in
            for i in 1...5 { _ = try await store.createJobs(projectId: "p", componentId: "s", configId: "c\(i)") }
            try await store.withWorkerSession(workerId: "w", leaseSeconds: 60) { session in
                #expect(try await session.turn(outcomes: [], claimLimit: 10, components: nil).claimed.count == 1)
                try await store.client.query("UPDATE projects SET max_parallel_jobs = 3 WHERE id = 'p'", logger: logger)
                #expect(try await session.turn(outcomes: [], claimLimit: 10, components: nil).claimed.count == 2)
            }
        }
    }

    @Test("a retry's delay holds: no attempt starts before the delay after the failure it retries")
    func retryDelayHolds() async throws {
        let url = try await TestPostgres.shared.makeDatabase("retrydelay", applying: """
            - {kind: component, id: f, executor: {type: fail}}
            \((1...6).map { "- {kind: configuration, component: f, id: c\($0)}" }.joined(separator: "\n"))
            """)
        try await Store.withStore(url: url, logger: logger) { store in
            var ids: [Int64] = []
            for i in 1...6 { ids.append(try await store.createJobs(componentId: "f", configId: "c\(i)", retries: 2, retryDelaySeconds: 1)[0].id) }
            let workers = try BatonProcess.workers(3, databaseURL: url, arguments: ["--concurrency", "4", "--poll-seconds", "0.2"])
            defer { for worker in workers { worker.stop() } }
            let done = try await store.waitForFinal(ids, timeout: 60)
            #expect(done.allSatisfy { $0.status == .error && $0.attempt == 3 })
            // From the events: each "retrying" note, then the next attempt's start at least 1 s later.
            for id in ids {
                let events = try await store.events(jobId: id)
                let failures = events.filter { $0.message.hasPrefix("attempt") && $0.message.contains("retrying in 1 s") }.map(\.time)
                #expect(failures.count == 2)
                let job = done.first { $0.id == id }!
                #expect(job.startTime! >= failures.last!.addingTimeInterval(0.99), "the last attempt started \(job.startTime!.timeIntervalSince(failures.last!)) s after the failure")
            }
        }
    }
}
