import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import PostgresNIO
import Testing

@Suite("retention prunes old finished jobs in batches")
struct RetentionTests {
    let logger = TestPostgres.shared.logger

    @Test("old finished jobs and runs go with their task jobs, events and notifications; unfinished, recent and retrying jobs stay")
    func prune() async throws {
        let url = try await TestPostgres.shared.makeDatabase("retention", applying: """
                - {kind: component, id: ok, executor: {type: process, command: [echo, hello]}}
                - {kind: component, id: idle, executor: {type: noop}}
                - {kind: configuration, component: ok, id: a}
                - {kind: configuration, component: ok, id: b}
                - {kind: configuration, component: idle, id: c}
                - kind: orchestration
                  id: nightly
                  phases: [{id: 1, name: One}]
                  tasks: [{id: a, name: A, phase: 1, task: {componentId: ok, configId: a}}, {id: b, name: B, phase: 1, task: {componentId: ok, configId: b}}]
                - {kind: notification, id: hook, events: [job-succeeded], channel: {type: email, address: ops@example.com}}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
        }
        let worker = try BatonProcess(["worker", "--components", "ok"], databaseURL: url)
        defer { _ = worker.stop() }
        let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
        defer { _ = coordinator.stop() }
        try await Store.withStore(url: url, logger: logger) { store in
            let old = try await store.createJobs(componentId: "ok", configId: "a", count: 3)
            let recent = try await store.createJobs(componentId: "ok", configId: "b", count: 2)
            let stuck = try await store.createJobs(componentId: "idle", configId: "c", count: 1) // no worker takes it
            let oldRun = try await Orchestrations.run(store: store, projectId: "default", id: "nightly", only: [], exclude: [], initializedBy: "api")
            _ = try await store.waitForFinal((old + recent).map(\.id) + [oldRun.id])
            let retry = try await Orchestrations.run(store: store, projectId: "default", id: "nightly", only: [], exclude: [], previousJobId: oldRun.id)
            _ = try await store.waitForFinal([retry.id])
            let oldTasks = try await store.children(of: oldRun.id).map(\.id)
            #expect(oldTasks.count == 2)
            let oldIds = old.map(\.id) + [oldRun.id] + oldTasks
            #expect(try await store.notifications(projectId: "default", jobId: oldRun.id).count == 1)
            let eventsBefore = try await count(store, "SELECT count(*) FROM job_events WHERE job_id = ANY(\(oldIds))")
            #expect(eventsBefore > 0)

            // 40 days ago, and a stuck unfinished job just as old.
            try await store.client.query("""
                UPDATE jobs SET created_time = created_time - interval '40 days', end_time = end_time - interval '40 days',
                                start_time = start_time - interval '40 days'
                WHERE id = ANY(\(oldIds + stuck.map(\.id)))
                """, logger: logger)

            var configuration = Retention.Configuration(age: .seconds(30 * 86_400))
            configuration.batchSize = 2
            configuration.pause = .milliseconds(1)
            let retention = Retention(store: store, configuration: configuration, logger: logger)
            #expect(try await retention.pruneDue() == 4, "3 old jobs and the old run, in batches of 2")
            #expect(try await count(store, "SELECT count(*) FROM jobs WHERE id = ANY(\(oldIds))") == 0, "the run's task jobs went with it")
            #expect(try await count(store, "SELECT count(*) FROM job_events WHERE job_id = ANY(\(oldIds))") == 0)
            #expect(try await store.notifications(projectId: "default", jobId: oldRun.id).isEmpty)
            let kept = try await store.jobs(JobFilter(limit: 100)).map(\.id)
            #expect(Set(kept).isSuperset(of: recent.map(\.id) + stuck.map(\.id) + [retry.id]))
            #expect(try await store.job(id: retry.id)?.previousJobId == nil, "the retry stays; the run it retried is gone")
            #expect(try await retention.pruneDue() == 0)
        }
    }

    func count(_ store: Store, _ query: PostgresQuery) async throws -> Int {
        for try await n in try await store.client.query(query, logger: logger).decode(Int64.self) { return Int(n) }
        return -1
    }
}
