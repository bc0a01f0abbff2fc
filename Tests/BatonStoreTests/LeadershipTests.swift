import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import PostgresNIO
import Testing

/// Coordinator leadership is a row with a term (sql/functions/leaders.sql), so it needs no
/// session state: one coordinator leads, a standby takes over when the leader resigns or its
/// lease runs out, and a leader that was taken over from changes nothing.
@Suite("coordinator leadership")
struct LeadershipTests {
    let logger = TestPostgres.shared.logger

    @Test("one leads; a standby takes over at once when it resigns, and only after the lease when it goes silent; the old term is fenced")
    func takeOver() async throws {
        let url = try await TestPostgres.shared.makeDatabase("leaders", applying: """
                - {kind: component, id: s, executor: {type: noop}}
                - {kind: configuration, component: s, id: a}
                - kind: orchestration
                  id: flow
                  phases: [{id: 1, name: One}]
                  tasks: [{id: t, name: T, phase: 1, task: {componentId: s, configId: a}}]
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            try await store.withCoordinatorSession(coordinatorId: "one") { one in
                try await store.withCoordinatorSession(coordinatorId: "two") { two in
                    let first = try #require(try await one.tryLead(leaseSeconds: 30))
                    #expect(try await two.tryLead(leaseSeconds: 30) == nil, "the lease of one runs")
                    try await one.resign()
                    let leased = ContinuousClock.now
                    let second = try #require(try await two.tryLead(leaseSeconds: 2), "resigned: taken over at once")
                    #expect(second > first)
                    #expect(try await one.keepLead(leaseSeconds: 30) == false)

                    // two goes silent: one takes over only once two's 2 s lease has run out.
                    #expect(try await one.tryLead(leaseSeconds: 30) == nil)
                    var third: Int64? = nil
                    try await waitUntil(timeout: 10, "one to take over after two's lease") {
                        third = try await one.tryLead(leaseSeconds: 30)
                        return third != nil
                    }
                    // Counted from before two took its lease (the steps since take time on a busy machine).
                    #expect(ContinuousClock.now - leased >= .seconds(1.5), "not before the lease ran out")
                    #expect(third! > second)

                    // two wakes up still believing it leads: its steps change nothing.
                    _ = try await Orchestrations.run(store: store, projectId: "default", id: "flow", only: [], exclude: [])
                    let error = await #expect(throws: BatonError.self) { try await two.startRuns(limit: 10) }
                    #expect(error?.message.contains("leadership lost") == true, "\(String(describing: error))")
                    #expect(try await two.keepLead(leaseSeconds: 30) == false, "its term is over")
                    let started = try await one.startRuns(limit: 10)
                    #expect(started.count == 1)
                    let step = try await two.advance(runId: started[0].id, withDefinition: true, decide: { _, _ in
                        Issue.record("a fenced step must not get to decide")
                        return RunStep(start: [], finish: nil)
                    }, whenMissing: { _ in (.error, [:]) })
                    #expect(step == nil)
                    #expect(try await store.children(of: started[0].id).isEmpty)
                }
            }
        }
    }

    @Test("a take-over waits for the step in flight of the leader whose lease just ran out")
    func takeOverWaitsForStep() async throws {
        let url = try await TestPostgres.shared.makeDatabase("leaderstep")
        try await Store.withStore(url: url, logger: logger) { store in
            try await store.withCoordinatorSession(coordinatorId: "old") { old in
                // A 3 s lease: time for the step to fence while it runs, on a busy machine or through a pooler.
                let leased = ContinuousClock.now
                let term = try #require(try await old.tryLead(leaseSeconds: 3))
                try await store.client.withConnection { step in
                    // The old leader's step: fenced while its lease still ran, not committed yet.
                    try await step.query("BEGIN", logger: logger)
                    // Read to the end: lead_fence raises when the lease has run out, and only reading says so.
                    for try await _ in try await step.query("SELECT lead_fence('coordinator', 'old', \(term))", logger: logger) {}
                    try await Task.sleep(until: leased + .seconds(3.2)) // its lease runs out mid-step
                    async let taken = store.withCoordinatorSession(coordinatorId: "new") { try await $0.tryLead(leaseSeconds: 30) }
                    try await waitUntil(timeout: 10, "the take-over to wait on the leadership row") {
                        var waiting = 0
                        for try await n in try await store.client.query("""
                            SELECT count(*)::int FROM pg_stat_activity
                            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT take_lead%'
                            """, logger: logger).decode(Int.self) { waiting = n }
                        return waiting == 1
                    }
                    try await step.query("COMMIT", logger: logger)
                    #expect(try await taken == term + 1, "taken over once the step committed")
                }
            }
        }
    }
}
