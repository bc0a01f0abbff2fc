import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// Schedules fired on a simulated clock: `Schedules.fireDue(now:)` is what the active coordinator
/// calls each turn with the real time.
@Suite("schedules on a simulated clock")
struct ScheduleTests {
    let logger = TestPostgres.shared.logger

    func setUp(_ name: String, overlap: String = "queue", enabled: Bool = true) async throws -> String {
        let url = try await TestPostgres.shared.makeDatabase(name)
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, id: ok, executor: {type: noop}}
                - {kind: configuration, component: ok, id: a}
                - kind: orchestration
                  id: nightly
                  phases: [{id: 1, name: One}]
                  tasks: [{id: a, name: A, phase: 1, task: {componentId: ok, configId: a}}]
                - {kind: schedule, id: every-minute, orchestration: nightly, cron: "* * * * *", onOverlap: \(overlap), enabled: \(enabled)}
                """), store: store)
        }
        return url
    }

    /// A whole minute a day from now: later than the schedule's last change, as the clock of a running system would be.
    var base: Date { Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 + 86_400) / 60).rounded(.down) * 60) }

    func runs(_ store: Store) async throws -> [Job] {
        try await store.jobs(JobFilter(componentId: ExecutorSpec.orchestratorComponentId, configId: "nightly", limit: 500)).sorted { $0.id < $1.id }
    }

    @Test("every minute for 10 simulated minutes, two coordinators at once: exactly one firing and one run per minute")
    func twoCoordinators() async throws {
        let url = try await setUp("sched2")
        let start = base
        try await Store.withStore(url: url, logger: logger) { store in
            for minute in 0..<10 {
                let now = start.addingTimeInterval(Double(minute) * 60 + 3)
                async let first = Schedules.fireDue(store: store, now: now, logger: logger)
                async let second = Schedules.fireDue(store: store, now: now, logger: logger)
                let fired = try await first.count + second.count
                #expect(fired == 1, "minute \(minute): \(fired) firings")
                // Later in the same minute: nothing more.
                #expect(try await Schedules.fireDue(store: store, now: now.addingTimeInterval(40), logger: logger).isEmpty)
            }
            let firings = try await store.firings(projectId: "default", scheduleId: "every-minute")
            #expect(firings.map(\.fireTime) == (0..<10).map { start.addingTimeInterval(Double($0) * 60) })
            let runs = try await runs(store)
            #expect(runs.count == 10 && runs.allSatisfy { $0.initializedBy == "schedule" })
            #expect(runs.first?.status == .created && runs.dropFirst().allSatisfy { $0.status == .waiting && $0.waitingReason == .configurationLock },
                    "queue: later runs wait behind the first")
        }
    }

    @Test("a coordinator down for 5 slots fires once on return, for the latest slot")
    func missedSlots() async throws {
        let url = try await setUp("schedmissed")
        let start = base
        try await Store.withStore(url: url, logger: logger) { store in
            #expect(try await Schedules.fireDue(store: store, now: start.addingTimeInterval(2), logger: logger).count == 1)
            let back = try await Schedules.fireDue(store: store, now: start.addingTimeInterval(5 * 60 + 30), logger: logger)
            #expect(back.map(\.fireTime) == [start.addingTimeInterval(5 * 60)])
            #expect(try await store.firings(projectId: "default", scheduleId: "every-minute").count == 2)
        }
    }

    @Test("onOverlap skip: no second run while one is unfinished, the firing recorded as skipped")
    func skip() async throws {
        let url = try await setUp("schedskip", overlap: "skip")
        let start = base
        try await Store.withStore(url: url, logger: logger) { store in
            try await Schedules.fireDue(store: store, now: start.addingTimeInterval(1), logger: logger)
            let second = try await Schedules.fireDue(store: store, now: start.addingTimeInterval(61), logger: logger)
            #expect(second.map(\.outcome) == ["skipped"] && second.first?.jobId == nil)
            #expect(try await runs(store).count == 1)
        }
    }

    @Test("onOverlap queue waits behind the unfinished run; replace cancels the waiting one and keeps the newest")
    func queueAndReplace() async throws {
        let url = try await setUp("schedreplace", overlap: "replace")
        let start = base
        try await Store.withStore(url: url, logger: logger) { store in
            let first = try await Schedules.fireDue(store: store, now: start.addingTimeInterval(1), logger: logger)
            let second = try await Schedules.fireDue(store: store, now: start.addingTimeInterval(61), logger: logger)
            #expect(first.map(\.outcome) == ["created"] && second.map(\.outcome) == ["replaced"])
            let runs = try await runs(store)
            #expect(runs.count == 2 && runs[0].status == .cancelled && runs[1].status == .created,
                    "the run that had not started is cancelled; the newest starts: \(runs.map(\.status))")
        }
        let queued = try await setUp("schedqueue", overlap: "queue")
        try await Store.withStore(url: queued, logger: logger) { store in
            try await Schedules.fireDue(store: store, now: start.addingTimeInterval(1), logger: logger)
            let second = try await Schedules.fireDue(store: store, now: start.addingTimeInterval(61), logger: logger)
            #expect(second.map(\.outcome) == ["queued"])
            #expect(try await runs(store).map(\.status) == [.created, .waiting])
        }
    }

    @Test("a disabled schedule does not fire; enabled again, it fires only slots after that")
    func disabled() async throws {
        let url = try await setUp("scheddisabled", enabled: false)
        let start = base
        try await Store.withStore(url: url, logger: logger) { store in
            #expect(try await Schedules.fireDue(store: store, now: start.addingTimeInterval(1), logger: logger).isEmpty)
            try await store.setScheduleEnabled(projectId: "default", id: "every-minute", enabled: true)
            #expect(try await Schedules.fireDue(store: store, now: start.addingTimeInterval(61), logger: logger).map(\.fireTime) == [start.addingTimeInterval(60)])
        }
    }

    @Test("bad schedules are refused with the field named: cron, unknown orchestration, onOverlap, enabled")
    func badInput() async throws {
        let url = try await TestPostgres.shared.makeDatabase("schedbad")
        try await Store.withStore(url: url, logger: logger) { store in
            do {
                _ = try await Apply.apply(try Documents.parse("""
                    - {kind: schedule, id: s1, orchestration: nope, cron: "0 2 * * *"}
                    - {kind: schedule, id: s2, orchestration: nope, cron: "61 * * * *"}
                    - {kind: schedule, id: s3, orchestration: nope, cron: "* * * * *", onOverlap: sometimes, enabled: "yes"}
                    """), store: store)
                Issue.record("bad schedules were applied")
            } catch let error as BatonError {
                let text = error.details.joined(separator: "\n")
                #expect(text.contains("document 1 (schedule 's1'): orchestration: unknown orchestration 'nope'"))
                #expect(text.contains("document 2 (schedule 's2'): cron: cron minute field '61': 61 is out of range"))
                #expect(text.contains("document 3 (schedule 's3'): onOverlap: must be queue"))
                #expect(text.contains("document 3 (schedule 's3'): enabled: must be true or false"))
            }
            #expect(try await store.schedules().isEmpty, "nothing was written")
        }
    }
}
