import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// Worker processes racing for jobs: jobs of one configuration never overlap.
@Suite("per-configuration serialization under racing workers", .serialized)
struct SerializationTests {
    let logger = TestPostgres.shared.logger

    @Test("3 workers of concurrency 8, 200 jobs over 5 configurations: no overlap, all succeed, configurations run in parallel",
          arguments: 1...(TestPooler.requested == nil ? 20 : 6)) // 6 in the pooled run (scripts/test-pooled), which must stay short
    func race(repetition: Int) async throws {
        let url = try await TestPostgres.shared.makeDatabase("race")
        try await Store.withStore(url: url, logger: logger) { store in
            let configs = (1...5).map { "cfg-\($0)" }
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, id: racer, executor: {type: sleep}}
                \(configs.map { "- {kind: configuration, component: racer, id: \($0), parameters: {seconds: 0.004}}" }.joined(separator: "\n"))
                """), store: store)
            let workers = try BatonProcess.workers(3, databaseURL: url, arguments: ["--concurrency", "8"])
            defer { for worker in workers { worker.stop() } }
            // All three race from the first job: each is registered (a live worker) before it claims.
            try await waitUntil(timeout: 30, "the 3 workers to register") {
                var live: [String] = []
                for try await value in try await store.client.query("SELECT live_workers()", logger: logger).decode([String].self) { live = value }
                return live.count == 3
            }
            try await BatonProcess.waitForRelay(workers)
            var ids: [Int64] = []
            for i in 0..<200 {
                ids += try await store.createJobs(componentId: "racer", configId: configs[i % configs.count]).map(\.id)
            }
            let jobs = try await store.waitForFinal(ids, timeout: 90)
            #expect(jobs.allSatisfy { $0.status == .success }, "statuses: \(Dictionary(grouping: jobs, by: \.status).mapValues(\.count))")

            for (config, group) in Dictionary(grouping: jobs, by: \.configId) {
                let sorted = group.sorted { $0.startTime! < $1.startTime! }
                for (a, b) in zip(sorted, sorted.dropFirst()) {
                    #expect(b.startTime! >= a.endTime!, "\(config): job \(b.id) started at \(b.startTime!) before job \(a.id) ended at \(a.endTime!)")
                }
            }
            // Different configurations did run at the same time: from the recorded times, at some
            // moment at least two jobs were running at once (only jobs of different configurations can).
            let peak = peakConcurrency(jobs)
            #expect(peak >= 2, "peak concurrency \(peak)")
            #expect(Set(jobs.compactMap(\.workerId)).count >= 2, "more than one worker process took part")
        }
    }
}

@Suite("project limit of parallel jobs")
struct ProjectLimitTests {
    let logger = TestPostgres.shared.logger

    @Test("max_parallel_jobs = 2: never more than 2 processing, the rest wait with reason project-limit")
    func projectLimit() async throws {
        let url = try await TestPostgres.shared.makeDatabase("limit", applying: """
                - {kind: project, id: small, maxParallelJobs: 2}
                - {kind: component, project: small, id: slow, executor: {type: sleep}}
                \((1...10).map { "- {kind: configuration, project: small, component: slow, id: c\($0), parameters: {seconds: 1.5}}" }.joined(separator: "\n"))
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            // Every status change of a job, as it commits: what the claim did is kept even when
            // the samples below miss it (a test process starved of its 2 cores for seconds).
            for try await _ in try await store.client.query(
                "CREATE TABLE test_job_changes (job_id bigint, status text, waiting_reason text, at timestamptz DEFAULT clock_timestamp())", logger: logger) {}
            for try await _ in try await store.client.query("""
                CREATE FUNCTION test_job_changes() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN INSERT INTO test_job_changes (job_id, status, waiting_reason) VALUES (NEW.id, NEW.status::text, NEW.waiting_reason); RETURN NEW; END $$
                """, logger: logger) {}
            for try await _ in try await store.client.query(
                "CREATE TRIGGER test_job_changes AFTER INSERT OR UPDATE OF status, waiting_reason ON jobs FOR EACH ROW EXECUTE FUNCTION test_job_changes()",
                logger: logger) {}
            var ids: [Int64] = []
            for i in 1...10 { ids += try await store.createJobs(projectId: "small", componentId: "slow", configId: "c\(i)").map(\.id) }
            let workers = try BatonProcess.workers(2, databaseURL: url, arguments: ["--concurrency", "8"])
            defer { for worker in workers { worker.stop() } }

            // Jobs of 1.5 s (five pairs: 7.5 s): long enough that the samples see them running and
            // waiting even when the test process shares 2 cores with the rest of the suite (with
            // 0.4 s jobs a loaded CI run once saw none).
            var peak = 0, sawProjectLimit = false, samples = 0
            try await waitUntil(timeout: 60, interval: .milliseconds(20), "10 jobs to finish") {
                let jobs = try await store.jobs(JobFilter(projectId: "small", limit: 100))
                samples += 1
                peak = max(peak, jobs.filter(\.status.isRunning).count)
                sawProjectLimit = sawProjectLimit || jobs.contains { $0.status == .waiting && $0.waitingReason == .projectLimit }
                return jobs.allSatisfy(\.status.isFinal)
            }
            let jobs = try await store.jobs(JobFilter(ids: ids))
            #expect(jobs.allSatisfy { $0.status == .success })
            // The samples may miss moments (see above); what they saw is never more than 2.
            #expect(peak <= 2, "peak processing \(peak) over \(samples) samples")
            var changedToProjectLimit = 0
            for try await count in try await store.client.query(
                "SELECT count(*)::int FROM test_job_changes WHERE status = 'waiting' AND waiting_reason = 'project-limit'", logger: logger).decode(Int.self) {
                changedToProjectLimit = count
            }
            #expect(changedToProjectLimit > 0 || sawProjectLimit, "a job was held back with reason project-limit")
            // Measured from the recorded times too, not only from samples.
            #expect(peakConcurrency(jobs) == 2)
        }
    }
}
