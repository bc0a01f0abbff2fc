import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// The same schedules on the real clock: two coordinator processes, one slot, one run.
@Suite("schedules on the real clock")
struct ScheduleClockTests {
    let logger = TestPostgres.shared.logger

    @Test("two coordinators and a schedule every minute: the next slot fires once, its run succeeds, initializedBy schedule")
    func realClock() async throws {
        let url = try await TestPostgres.shared.makeDatabase("sched_clock", applying: """
                - {kind: component, id: ok, executor: {type: noop}}
                - {kind: configuration, component: ok, id: a}
                - kind: orchestration
                  id: minutely
                  phases: [{id: 1, name: One}]
                  tasks: [{id: a, name: A, phase: 1, task: {componentId: ok, configId: a}}]
                - {kind: schedule, id: every-minute, orchestration: minutely, cron: "* * * * *"}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
        }
        let worker = try BatonProcess(["worker"], databaseURL: url)
        defer { _ = worker.stop() }
        let coordinators = try ["one", "two"].map { try BatonProcess(["coordinator", "--coordinator-id", $0], databaseURL: url) }
        defer { for coordinator in coordinators { _ = coordinator.stop() } }
        try await Store.withStore(url: url, logger: logger) { store in
            // The first slot after the apply is at most 60 s away; it fires within the coordinator's 2 s tick.
            var runs: [Job] = []
            try await waitUntil(timeout: 75, interval: .milliseconds(250), "the first scheduled run to succeed") {
                runs = try await store.jobs(JobFilter(componentId: ExecutorSpec.orchestratorComponentId, configId: "minutely", limit: 10))
                return runs.first?.status == .success
            }
            let firings = try await store.firings(projectId: "default", scheduleId: "every-minute")
            #expect(firings.count == runs.count, "one run per firing")
            #expect(runs.allSatisfy { $0.initializedBy == "schedule" })
            let slot = try #require(firings.first?.fireTime)
            #expect(slot.timeIntervalSince1970.truncatingRemainder(dividingBy: 60) == 0, "fired for a whole minute")
            #expect(try #require(runs.last).createdTime.timeIntervalSince(slot) < 60, "created in its own minute, before the next slot")
        }
    }
}
