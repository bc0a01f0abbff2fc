import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// Orchestration runs driven by real coordinator and worker processes.
@Suite("orchestration runs", .serialized)
struct OrchestrationRunTests {
    let logger = TestPostgres.shared.logger

    /// Applies `yaml`, starts workers and coordinators, runs `body`, stops them.
    func withFleet(_ name: String, _ yaml: String, workers: Int = 2, coordinators: Int = 1,
                   _ body: @Sendable (Store, String, [BatonProcess]) async throws -> Void) async throws {
        let url = try await TestPostgres.shared.makeDatabase(name)
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await Apply.apply(try Documents.parse(yaml), store: store)
            let fleet = try BatonProcess.workers(workers, databaseURL: url, arguments: ["--concurrency", "8"])
            let coordinatorProcesses = try (0..<coordinators).map {
                try BatonProcess(["coordinator", "--coordinator-id", "coordinator-\($0)", "--standby-seconds", "0.2", "--leader-lease-seconds", "3"], databaseURL: url)
            }
            defer { for process in fleet + coordinatorProcesses { process.stop() } }
            try await body(store, url, coordinatorProcesses)
        }
    }

    func run(_ store: Store, _ id: String, only: [String] = [], exclude: [String] = []) async throws -> Job {
        try await Orchestrations.run(store: store, projectId: "default", id: id, only: only, exclude: exclude)
    }

    func finished(_ store: Store, _ run: Job, timeout: Double = 60) async throws -> (Job, [Job]) {
        let parent = try await store.waitForFinal([run.id], timeout: timeout)[0]
        return (parent, try await store.children(of: run.id))
    }

    static func sleepers(_ ids: [String], seconds: Double) -> String {
        "- {kind: component, id: s, executor: {type: sleep}}\n"
            + ids.map { "- {kind: configuration, component: s, id: \($0), parameters: {seconds: \(seconds)}}" }.joined(separator: "\n")
    }

    @Test("a Keboola flow with a phase that has no tasks yet and one whose tasks are all disabled: applied with warnings, run with both skipped")
    func keboolaFlowWithSkippedPhases() async throws {
        let yaml = Self.sleepers(["extract", "load", "enrich"], seconds: 0.05) + """

            - kind: orchestration
              id: template
              phases:
                - {id: 15871, name: Extract, description: "Pull the sources", dependsOn: []}
                - {id: 15872, name: Transform, dependsOn: [15871]}
                - {id: 15873, name: Enrich, dependsOn: [15872]}
                - {id: 15874, name: Load, dependsOn: [15873]}
              tasks:
                - {id: 1, name: Extract, phase: 15871, task: {componentId: s, configId: extract, mode: run}, enabled: true, behavior: {onError: stop}}
                - {id: 2, name: Enrich (off for now), phase: 15873, task: {componentId: s, configId: enrich, mode: run}, enabled: false}
                - {id: 3, name: Load, phase: 15874, task: {componentId: s, configId: load, mode: run}, behavior: {onError: warning}}
            """
        let url = try await TestPostgres.shared.makeDatabase("keboolaflow")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("flow-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let applied = try BatonProcess.run(["apply", "-f", file], databaseURL: url)
        #expect(applied.status == 0, "\(applied.output)")
        #expect(applied.output.contains("warning: orchestration 'template' (project default) phases[1]: phase '15872' has no tasks yet: a run skips it"))
        #expect(applied.output.contains("phases[2]: phase '15873' has only disabled tasks: a run skips it"))
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
            defer { worker.stop(); coordinator.stop() }
            let (parent, children) = try await finished(store, try await run(store, "template"))
            #expect(parent.status == .success)
            #expect(children.map(\.orchestrationTaskId) == ["1", "3"])
            #expect(parent.result?["phases"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == ["success", "skipped", "skipped", "success"])
        }
    }

    @Test("phases run in order and the tasks of a phase in parallel", arguments: 1...3)
    func phasesInOrder(repetition: Int) async throws {
        let tasks = (1...3).flatMap { phase in (1...3).map { "p\(phase)t\($0)" } }
        try await withFleet("order", Self.sleepers(tasks, seconds: 0.2) + """

            - kind: orchestration
              id: nightly
              phases: [{id: 1, name: Extract}, {id: 2, name: Transform}, {id: 3, name: Load}]
              tasks:
            \(tasks.map { "    - {id: \($0), name: \($0), phase: \($0.dropFirst().prefix(1)), task: {componentId: s, configId: \($0)}}" }.joined(separator: "\n"))
            """) { store, _, _ in
            let (parent, children) = try await finished(store, try await run(store, "nightly"))
            #expect(parent.status == .success)
            #expect(children.count == 9 && children.allSatisfy { $0.status == .success })
            #expect(children.allSatisfy { $0.parentRunId == parent.runId && $0.runId == "\(parent.runId).\($0.id)" })
            let phases = Dictionary(grouping: children, by: { $0.orchestrationPhaseId! })
            for (earlier, later) in [("1", "2"), ("2", "3")] {
                let lastEnd = phases[earlier]!.map(\.endTime!).max()!
                let firstStart = phases[later]!.map(\.startTime!).min()!
                #expect(firstStart >= lastEnd, "phase \(later) started \(firstStart) before phase \(earlier) ended \(lastEnd)")
            }
            for (phase, jobs) in phases {
                #expect(peakConcurrency(jobs) >= 2, "tasks of phase \(phase) overlapped in time")
            }
        }
    }

    @Test("a failure with continueOnFailure ends the run warning and later phases still run", arguments: 1...3)
    func continueOnFailure(repetition: Int) async throws {
        try await withFleet("warn", """
            - {kind: component, id: boom, executor: {type: fail}}
            - {kind: configuration, component: boom, id: flaky}
            - {kind: component, id: ok, executor: {type: noop}}
            - {kind: configuration, component: ok, id: a}
            - {kind: configuration, component: ok, id: b}
            - kind: orchestration
              id: tolerant
              phases: [{id: extract, name: Extract}, {id: load, name: Load}]
              tasks:
                - {id: t1, name: Flaky source, phase: extract, task: {componentId: boom, configId: flaky}, continueOnFailure: true}
                - {id: t2, name: Good source, phase: extract, task: {componentId: ok, configId: a}}
                - {id: t3, name: Load, phase: load, task: {componentId: ok, configId: b}}
            """) { store, _, _ in
            let (parent, children) = try await finished(store, try await run(store, "tolerant"))
            #expect(parent.status == .warning)
            let byTask = Dictionary(uniqueKeysWithValues: children.map { ($0.orchestrationTaskId!, $0.status) })
            #expect(byTask == ["t1": .error, "t2": .success, "t3": .success])
            #expect(parent.result?["phases"] == [["id": "extract", "name": "Extract", "status": "warning"], ["id": "load", "name": "Load", "status": "success"]])
        }
    }

    @Test("a failure without continueOnFailure ends the run error; later phases have no job", arguments: 1...3)
    func failureStops(repetition: Int) async throws {
        try await withFleet("error", """
            - {kind: component, id: boom, executor: {type: fail}}
            - {kind: configuration, component: boom, id: broken}
            - {kind: component, id: s, executor: {type: sleep}}
            - {kind: configuration, component: s, id: slow, parameters: {seconds: 0.5}}
            - {kind: configuration, component: s, id: never, parameters: {seconds: 0}}
            - kind: orchestration
              id: strict
              phases: [{id: 1, name: One}, {id: 2, name: Two}, {id: 3, name: Three}]
              tasks:
                - {id: a, name: Broken, phase: 1, task: {componentId: boom, configId: broken}}
                - {id: b, name: Slow sibling, phase: 1, task: {componentId: s, configId: slow}}
                - {id: c, name: Later, phase: 2, task: {componentId: s, configId: never}}
                - {id: d, name: Last, phase: 3, task: {componentId: s, configId: never}}
            """) { store, _, _ in
            let (parent, children) = try await finished(store, try await run(store, "strict"))
            #expect(parent.status == .error)
            #expect(Set(children.map { $0.orchestrationTaskId! }) == ["a", "b"])
            #expect(children.first { $0.orchestrationTaskId == "b" }?.status == .success, "the running sibling finished before the run ended")
            #expect(parent.endTime! >= children.map(\.endTime!).max()!)
            #expect(parent.result?["phases"]?.arrayValue?.map { $0["status"] } == ["error", "not-executed", "not-executed"])
        }
    }

    @Test("deselected and disabled tasks have no job; a fully deselected phase is skipped")
    func selection() async throws {
        try await withFleet("select", """
            - {kind: component, id: ok, executor: {type: noop}}
            - {kind: configuration, component: ok, id: a}
            - {kind: configuration, component: ok, id: b}
            - {kind: configuration, component: ok, id: c}
            - kind: orchestration
              id: partial
              phases: [{id: 1, name: One}, {id: 2, name: Two}, {id: 3, name: Three}]
              tasks:
                - {id: a, name: A, phase: 1, task: {componentId: ok, configId: a}, parameters: {label: from-task}}
                - {id: idle, name: Idle, phase: 1, task: {componentId: ok, configId: b}, enabled: false}
                - {id: b, name: B, phase: 2, task: {componentId: ok, configId: b}}
                - {id: c, name: C, phase: 3, task: {componentId: ok, configId: c}}
            """) { store, _, _ in
            let (parent, children) = try await finished(store, try await run(store, "partial", exclude: ["b"]))
            #expect(parent.status == .success)
            #expect(Set(children.map { $0.orchestrationTaskId! }) == ["a", "c"])
            #expect(parent.onlyOrchestrationTaskIds == ["a", "c"])
            #expect(children.first { $0.orchestrationTaskId == "a" }?.parameters == ["label": "from-task"], "task parameters reach the job")
            #expect(parent.result?["phases"]?.arrayValue?.map { $0["status"] } == ["success", "skipped", "success"])
            await #expect(throws: BatonError.self) { _ = try await run(store, "partial", only: ["idle"]) }
            await #expect(throws: BatonError.self) { _ = try await store.createJobs(componentId: ExecutorSpec.orchestratorComponentId, configId: "partial") }
        }
    }

    @Test("a second run of a running orchestration waits and starts after the first ends")
    func secondRunWaits() async throws {
        try await withFleet("second", Self.sleepers(["x"], seconds: 0.6) + """

            - kind: orchestration
              id: single
              phases: [{id: 1, name: Only}]
              tasks: [{id: t, name: T, phase: 1, task: {componentId: s, configId: x}}]
            """) { store, _, _ in
            let first = try await run(store, "single")
            try await waitUntil(timeout: 30, "the first run to start") { try await store.job(id: first.id)?.status == .processing }
            let second = try await run(store, "single")
            let waiting = try await store.job(id: second.id)!
            #expect(waiting.status == .waiting && waiting.waitingReason == .configurationLock)
            let (a, _) = try await finished(store, first)
            let (b, _) = try await finished(store, second)
            #expect(a.status == .success && b.status == .success)
            #expect(b.startTime! >= a.endTime!)
        }
    }

    @Test("two tasks of one configuration never overlap; the project limit counts task jobs, not the run")
    func sameConfigurationAndLimit() async throws {
        let url = try await TestPostgres.shared.makeDatabase("samecfg")
        try await withFleet("samecfg", """
            - {kind: project, id: default, maxParallelJobs: 1}
            - {kind: component, id: s, executor: {type: sleep}}
            - {kind: configuration, component: s, id: shared, parameters: {seconds: 0.3}}
            - kind: orchestration
              id: twice
              phases: [{id: 1, name: One}, {id: 2, name: Two}]
              tasks:
                - {id: a, name: A, phase: 1, task: {componentId: s, configId: shared}}
                - {id: b, name: B, phase: 1, task: {componentId: s, configId: shared}}
                - {id: c, name: C, phase: 2, task: {componentId: s, configId: shared}}
            """) { store, _, _ in
            let (parent, children) = try await finished(store, try await run(store, "twice"))
            #expect(parent.status == .success)
            #expect(children.count == 3)
            #expect(peakConcurrency(children) == 1)
        }
        _ = url
    }

    @Test("a coordinator killed (SIGKILL) or stopped (SIGTERM) mid-run: a standby finishes the run and every task ran exactly once",
          arguments: [SIGKILL, SIGTERM, SIGKILL])
    func coordinatorFailover(signal: Int32) async throws {
        let tasks = (1...5).flatMap { phase in (1...2).map { "p\(phase)t\($0)" } }
        try await withFleet("failover", Self.sleepers(tasks, seconds: 0.3) + """

            - kind: orchestration
              id: long
              phases: [{id: 1, name: P1}, {id: 2, name: P2}, {id: 3, name: P3}, {id: 4, name: P4}, {id: 5, name: P5}]
              tasks:
            \(tasks.map { "    - {id: \($0), name: \($0), phase: \($0.dropFirst().prefix(1)), task: {componentId: s, configId: \($0)}}" }.joined(separator: "\n"))
            """, coordinators: 2) { store, _, coordinators in
            let started = try await run(store, "long")
            try await waitUntil(timeout: 30, "phase 2 to start") {
                try await store.children(of: started.id).contains { $0.orchestrationPhaseId == "2" }
            }
            let active = try await store.job(id: started.id)!.workerId!
            let victim = coordinators[active == "coordinator-0" ? 0 : 1]
            kill(victim.process.processIdentifier, signal)
            victim.process.waitUntilExit()
            let (parent, children) = try await finished(store, started)
            #expect(parent.status == .success)
            #expect(parent.workerId != active, "the standby took over")
            #expect(children.count == 10)
            #expect(Set(children.map { $0.orchestrationTaskId! }).count == 10)
            #expect(children.allSatisfy { $0.status == .success && $0.attempt == 1 })
        }
    }
}
