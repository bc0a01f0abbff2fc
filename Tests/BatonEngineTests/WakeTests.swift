@testable import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// Who wakes when: a new job wakes one worker first (sql/007_wake_one.sql), a finish wakes the
/// workers only when someone waits for what it freed.
@Suite("wake-ups")
struct WakeTests {
    let logger = TestPostgres.shared.logger

    @Test("new jobs go first to the workers at positions first-id mod ranks onward, one per job; all when as many jobs as workers")
    func firstPick() {
        // 4 workers, one job with id 9: position 9 mod 4 = 1 claims at once, the others later.
        #expect((0..<4).map { Mailbox.isFirstPick(position: $0, ranks: 4, firstJob: 9, jobs: 1) } == [false, true, false, false])
        // 3 jobs from id 10: positions 2, 3 and 0 (round the circle).
        #expect((0..<4).map { Mailbox.isFirstPick(position: $0, ranks: 4, firstJob: 10, jobs: 3) } == [true, false, true, true])
        // As many jobs as workers, or an unknown rank: everyone.
        #expect((0..<4).allSatisfy { Mailbox.isFirstPick(position: $0, ranks: 4, firstJob: 5, jobs: 4) })
        #expect(Mailbox.isFirstPick(position: 0, ranks: 0, firstJob: 5, jobs: 1))
        // Consecutive single jobs visit every worker once per round.
        let picks = (100..<108).map { id in (0..<4).first { Mailbox.isFirstPick(position: $0, ranks: 4, firstJob: Int64(id), jobs: 1) }! }
        #expect(picks == [0, 1, 2, 3, 0, 1, 2, 3])
    }

    @Test("single jobs created one at a time spread over idle workers, and each starts long before any poll")
    func spread() async throws {
        let url = try await TestPostgres.shared.makeDatabase("spread", applying: """
                - {kind: component, id: quick, executor: {type: noop}}
                - {kind: configuration, component: quick, id: q}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            // A long lease and poll: only NOTIFY (or the 25 ms fallback) can start the jobs quickly.
            let workers = try BatonProcess.workers(3, databaseURL: url, arguments: ["--poll-seconds", "120", "--lease-seconds", "300"])
            defer { for worker in workers { worker.stop() } }
            try await waitUntil(timeout: 30, "3 live workers") {
                var live: [String] = []
                for try await value in try await store.client.query("SELECT live_workers()").decode([String].self) { live = value }
                return live.count == 3
            }
            try await Task.sleep(for: .seconds(1.5)) // each worker learns the ranks (a registration is announced with NOTIFY 'ranks')
            var jobs: [Job] = []
            for _ in 0..<12 {
                let job = try await store.createJobs(componentId: "quick", configId: "q")[0]
                jobs += try await store.waitForFinal([job.id], timeout: 10)
            }
            for job in jobs {
                #expect(job.status == .success)
                // The poll is 100 s away: a start within 10 s came from NOTIFY (usually a few ms; the bound allows a loaded machine).
                #expect(job.startTime!.timeIntervalSince(job.createdTime) < 10, "job \(job.id) waited \(job.startTime!.timeIntervalSince(job.createdTime)) s")
            }
            #expect(Set(jobs.compactMap(\.workerId)).count == 3, "workers: \(jobs.compactMap(\.workerId))")
        }
    }

    @Test("a finish wakes an idle worker when a job waits for the configuration it freed")
    func finishWakesWaiting() async throws {
        let url = try await TestPostgres.shared.makeDatabase("finishwake", applying: """
                - {kind: component, id: s, executor: {type: sleep}}
                - {kind: configuration, component: s, id: x, parameters: {seconds: 4}}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            let slow = ["--poll-seconds", "120", "--lease-seconds", "300", "--drain-seconds", "30"]
            let first = try BatonProcess(["worker"] + slow, databaseURL: url)
            defer { first.stop() }
            let running = try await store.createJobs(componentId: "s", configId: "x")[0]
            try await waitUntil(timeout: 30, "the first job to run") { try await store.job(id: running.id)?.status == .processing }
            let queued = try await store.createJobs(componentId: "s", configId: "x")[0]
            #expect(try await store.job(id: queued.id)?.status == .waiting)
            // The second worker starts now and finds nothing it may run; its poll is 120 s away.
            let second = try BatonProcess(["worker"] + slow, databaseURL: url)
            defer { second.stop() }
            try await Task.sleep(for: .milliseconds(500))
            // The first worker drains: it finishes its job and claims nothing more. Only the
            // finish's NOTIFY can start the queued job on the second worker.
            // The first job is still running (4 s), so the first worker drains instead of taking the next job itself.
            #expect(try await store.job(id: running.id)?.status == .processing, "set-up: the first job ended before the first worker was stopped")
            kill(first.process.processIdentifier, SIGTERM)
            let done = try await store.waitForFinal([running.id, queued.id], timeout: 60)
            let byId = Dictionary(uniqueKeysWithValues: done.map { ($0.id, $0) })
            #expect(byId[running.id]?.status == .success && byId[queued.id]?.status == .success)
            let gap = byId[queued.id]!.startTime!.timeIntervalSince(byId[running.id]!.endTime!)
            // The second worker's fallback poll is 100 s away (a third of the 300 s lease): anything
            // well under that came from the finish's NOTIFY. (Usually milliseconds; the bound allows a loaded CI machine.)
            #expect(gap >= 0 && gap < 30, "the queued job started \(gap) s after the first ended")
            #expect(byId[queued.id]?.workerId != byId[running.id]?.workerId)
        }
    }
}
