import BatonModel
import Testing

private func parse(_ json: JSONValue, exists: (String, String) -> Bool = { _, _ in true }) -> Result<OrchestrationDefinition, FieldIssues> {
    OrchestrationDefinition.parse(json, configurationExists: exists)
}

private func definition(_ text: String) throws -> OrchestrationDefinition {
    try parse(JSONValue.parse(text)).get()
}

private func issues(_ text: String, exists: (String, String) -> Bool = { _, _ in true }) throws -> [FieldIssue] {
    switch parse(try JSONValue.parse(text), exists: exists) {
    case .success: return []
    case .failure(let issues): return issues.items
    }
}

/// An orchestration from a short description: each phase's id, its written dependsOn (nil: none written) and its task ids.
private func orchestration(
    _ phases: [(id: String, dependsOn: [String]?, tasks: [String])],
    continueOnFailure: Set<String> = [], disabled: Set<String> = []
) throws -> OrchestrationDefinition {
    var phaseList: [JSONValue] = [], taskList: [JSONValue] = []
    for phase in phases {
        var object: [String: JSONValue] = ["id": .string(phase.id)]
        if let dependsOn = phase.dependsOn { object["dependsOn"] = .array(dependsOn.map { .string($0) }) }
        phaseList.append(.object(object))
        for task in phase.tasks {
            taskList.append(["id": .string(task), "phase": .string(phase.id), "task": ["componentId": "c", "configId": .string(task)],
                             "continueOnFailure": .bool(continueOnFailure.contains(task)), "enabled": .bool(!disabled.contains(task))])
        }
    }
    return try parse(["phases": .array(phaseList), "tasks": .array(taskList)]).get()
}

private extension RunProgress {
    func status(_ phase: String) -> PhaseStatus? { phases.first { $0.phase.id == phase }?.status }
    var statuses: [PhaseStatus] { phases.map(\.status) }
    var starting: [String] { tasksToStart.map(\.id) }
}

private extension OrchestrationDefinition {
    func run(_ children: [String: JobStatus], selected: Set<String>? = nil) -> RunProgress {
        progress(selected: selected ?? Set(tasks.filter(\.enabled).map(\.id)), children: children)
    }
}

@Suite("orchestration definitions are read from Keboola's configuration shape")
struct OrchestrationParseTests {
    @Test("a real Keboola configuration with numeric ids and extra fields is accepted as is")
    func keboolaShape() throws {
        let flow = try definition("""
            {"phases": [{"id": 2468, "name": "Extractors", "dependsOn": [], "description": "sources"},
                        {"id": 2469, "name": "Transformations", "dependsOn": [2468]}],
             "tasks": [{"id": 13579, "name": "Snowflake", "phase": 2468,
                        "task": {"componentId": "keboola.ex-db-snowflake", "configId": "807968875", "mode": "run", "configPath": "x"},
                        "continueOnFailure": false, "enabled": true},
                       {"id": 13580, "name": "Adform", "phase": 2468,
                        "task": {"componentId": "keboola.ex-adform", "configId": 12345},
                        "continueOnFailure": true, "enabled": false},
                       {"id": "t3", "phase": 2469,
                        "task": {"componentId": "keboola.snowflake-transformation", "configId": "9", "mode": "debug"},
                        "parameters": {"rows": 10}, "timeoutSeconds": 60}],
             "notifications": [], "description": "nightly"}
            """)
        #expect(flow.phases.map(\.id) == ["2468", "2469"])
        #expect(flow.phases.map(\.name) == ["Extractors", "Transformations"])
        #expect(flow.phases.map(\.dependsOn) == [[], ["2468"]])
        #expect(flow.tasks.map(\.id) == ["13579", "13580", "t3"])
        #expect(flow.tasks.map(\.phase) == ["2468", "2468", "2469"])
        #expect(flow.tasks[1].configId == "12345")
        #expect(flow.tasks.map(\.mode) == ["run", "run", "debug"])
        #expect(flow.tasks.map(\.continueOnFailure) == [false, true, false])
        #expect(flow.tasks.map(\.enabled) == [true, false, true])
        #expect(flow.tasks[2].name == "t3")
        #expect(flow.tasks[2].parameters == ["rows": 10])
        #expect(flow.tasks[2].timeoutSeconds == 60)
        #expect(flow.tasks[0].parameters == nil && flow.tasks[0].timeoutSeconds == nil)
    }

    @Test("a phase without dependsOn depends on the phase before it, so a plain list runs in order")
    func implicitChain() throws {
        let flow = try orchestration([("a", nil, ["1"]), ("b", nil, ["2"]), ("c", nil, ["3"])])
        #expect(flow.phases.map(\.dependsOn) == [[], ["a"], ["b"]])
    }

    @Test("dependsOn [] makes a root anywhere; a written dependsOn replaces the implicit one")
    func explicitRoots() throws {
        let flow = try orchestration([("a", nil, ["1"]), ("b", [], ["2"]), ("c", ["a", "b", "a"], ["3"]), ("d", nil, ["4"])])
        #expect(flow.phases.map(\.dependsOn) == [[], [], ["a", "b"], ["c"]])
    }

    @Test("the stored form has string ids and explicit dependsOn, and reads back to the same definition")
    func roundTrip() throws {
        let flow = try definition("""
            {"phases": [{"id": 1, "name": "One"}, {"id": 2}, {"id": 3, "dependsOn": [1]}],
             "tasks": [{"id": 10, "phase": 1, "task": {"componentId": "c", "configId": 5}, "parameters": {"a": [1, "x"]}, "timeoutSeconds": 1.5},
                       {"id": 11, "name": "Eleven", "phase": 2, "task": {"componentId": "c", "configId": "6", "mode": "forceRun"}, "continueOnFailure": true},
                       {"id": 12, "phase": 3, "task": {"componentId": "c", "configId": "7"}},
                       {"id": 13, "phase": 3, "task": {"componentId": "c", "configId": "8"}, "enabled": false}]}
            """)
        let stored = flow.json
        #expect(stored["phases"]?.arrayValue?[1]["dependsOn"] == .array(["1"]))
        #expect(stored["phases"]?.arrayValue?[1]["id"] == "2")
        #expect(stored["tasks"]?.arrayValue?[0]["task"]?["configId"] == "5")
        #expect(stored["tasks"]?.arrayValue?[0]["enabled"] == true)
        #expect(try parse(stored).get() == flow)
        #expect(try parse(JSONValue.parse(stored.jsonText)).get() == flow)
    }
}

@Suite("every problem of an orchestration definition is reported at once, with its path")
struct OrchestrationValidationTests {
    let phase = #"{"id": "p", "name": "P"}"#
    func task(_ id: String, phase: String = "p", extra: String = "") -> String {
        #"{"id": "\#(id)", "phase": "\#(phase)", "task": {"componentId": "c", "configId": "\#(id)"}\#(extra)}"#
    }

    @Test("a task of an unknown phase is refused at tasks[i].phase")
    func unknownPhase() throws {
        let found = try issues(#"{"phases": [\#(phase)], "tasks": [\#(task("a")), \#(task("b", phase: "nope"))]}"#)
        #expect(found.map(\.field) == ["tasks[1].phase"])
        #expect(found[0].message.contains("unknown phase 'nope'"))
    }

    @Test("dependsOn naming an unknown phase or the phase itself is refused")
    func badDependencies() throws {
        let found = try issues("""
            {"phases": [{"id": "a"}, {"id": "b", "dependsOn": ["zz"]}, {"id": "c", "dependsOn": ["c", "a"]}],
             "tasks": [\(task("1", phase: "a")), \(task("2", phase: "b")), \(task("3", phase: "c"))]}
            """)
        #expect(found.map(\.field) == ["phases[1].dependsOn", "phases[2].dependsOn"])
        #expect(found[0].message.contains("unknown phase 'zz'"))
        #expect(found[1].message.contains("depends on itself"))
    }

    @Test("a task of a configuration that does not exist is refused at tasks[i].task.configId")
    func unknownConfiguration() throws {
        let found = try issues(#"{"phases": [\#(phase)], "tasks": [\#(task("a")), \#(task("b"))]}"#, exists: { component, config in
            component == "c" && config == "a"
        })
        #expect(found.map(\.field) == ["tasks[1].task.configId"])
        #expect(found[0].message.contains("unknown configuration 'b' of component 'c'"))
    }

    @Test("duplicate phase ids and duplicate task ids are refused, naming the first")
    func duplicates() throws {
        let found = try issues(#"{"phases": [\#(phase), {"id": "p"}], "tasks": [\#(task("a")), \#(task("a"))]}"#)
        #expect(found.map(\.field) == ["phases[1].id", "tasks[1].id"])
        #expect(found[0].message.contains("duplicate phase id 'p'") && found[0].message.contains("phases[0]"))
        #expect(found[1].message.contains("duplicate task id 'a'") && found[1].message.contains("tasks[0]"))
    }

    @Test("a dependency cycle is refused, naming its phases in order")
    func cycle() throws {
        let found = try issues("""
            {"phases": [{"id": "root", "dependsOn": []}, {"id": "a", "dependsOn": ["c"]}, {"id": "b", "dependsOn": ["a"]}, {"id": "c", "dependsOn": ["b", "root"]}],
             "tasks": [\(task("0", phase: "root")), \(task("1", phase: "a")), \(task("2", phase: "b")), \(task("3", phase: "c"))]}
            """)
        #expect(found.map(\.field) == ["phases[1].dependsOn"])
        #expect(found[0].message.contains("'a' -> 'c' -> 'b' -> 'a'"))
        #expect(!found[0].message.contains("phase before it"))
    }

    @Test("a cycle through an implicit dependency says where the implicit one comes from")
    func implicitCycle() throws {
        let found = try issues("""
            {"phases": [{"id": "a", "dependsOn": ["b"]}, {"id": "b"}],
             "tasks": [\(task("1", phase: "a")), \(task("2", phase: "b"))]}
            """)
        #expect(found.map(\.field) == ["phases[0].dependsOn"])
        #expect(found[0].message.contains("'a' -> 'b' -> 'a'") && found[0].message.contains("phase before it"))
    }

    @Test("a phase with no tasks yet, or only disabled ones, is accepted as Keboola accepts it: a warning, and a run skips it")
    func emptyPhases() throws {
        let parsed = try definition("""
            {"phases": [\(phase), {"id": "empty"}, {"id": "off"}, {"id": "last"}],
             "tasks": [\(task("a")), \(task("b", phase: "off", extra: #", "enabled": false"#)), \(task("c", phase: "last"))]}
            """)
        #expect(parsed.warnings.map(\.field) == ["phases[1]", "phases[2]"])
        #expect(parsed.warnings[0].message == "phase 'empty' has no tasks yet: a run skips it")
        #expect(parsed.warnings[1].message == "phase 'off' has only disabled tasks: a run skips it")
        // The skipped phases pass their dependencies on: 'last' starts once the first phase is done.
        let selected = try parsed.selectTasks(only: [], exclude: []).get()
        #expect(parsed.progress(selected: selected, children: [:]).tasksToStart.map(\.id) == ["a"])
        let later = parsed.progress(selected: selected, children: ["a": .success])
        #expect(later.tasksToStart.map(\.id) == ["c"])
        #expect(later.phases.map(\.status) == [.success, .skipped, .skipped, .pending])
        #expect(parsed.progress(selected: selected, children: ["a": .success, "c": .success]).finalStatus == .success)
        // An orchestration without a task yet is accepted too; it cannot be run until it has one.
        let bare = try definition(#"{"phases": [{"id": 1, "name": "Extract"}], "tasks": []}"#)
        #expect(bare.warnings.map(\.field) == ["phases[0]", "tasks"])
        #expect((try? bare.selectTasks(only: [], exclude: []).get()) == nil)
    }

    @Test("Keboola's phase description and a task's behavior.onError are kept; onError \"warning\" means continue on failure")
    func keboolaFields() throws {
        let parsed = try definition("""
            {"phases": [{"id": 1, "name": "Extract", "description": "Pull the sources"}],
             "tasks": [{"id": 10, "name": "Orders", "phase": 1, "task": {"componentId": "c", "configId": "x"}, "behavior": {"onError": "warning"}},
                       {"id": 11, "name": "Ads", "phase": 1, "task": {"componentId": "c", "configId": "y"}, "behavior": {"onError": "stop"}}]}
            """)
        #expect(parsed.phases[0].description == "Pull the sources")
        #expect(parsed.tasks.map(\.continueOnFailure) == [true, false])
        #expect(parsed.tasks[0].behavior == ["onError": "warning"])
        #expect(try definition(parsed.json.jsonText) == parsed, "kept through the stored form")
        let conflicting = try issues("""
            {"phases": [{"id": 1}], "tasks": [{"id": 10, "phase": 1, "task": {"componentId": "c", "configId": "x"},
                                                 "behavior": {"onError": "warning"}, "continueOnFailure": false}]}
            """)
        #expect(conflicting.map(\.field) == ["tasks[0].behavior.onError"])
        #expect(try issues(#"{"phases": [{"id": 1}], "tasks": [{"id": 10, "phase": 1, "task": {"componentId": "c", "configId": "x"}, "behavior": {"onError": "retry"}}]}"#).map(\.field) == ["tasks[0].behavior"])
    }

    @Test("missing and mistyped fields are each reported, sorted by path")
    func fieldTypes() throws {
        let found = try issues("""
            {"phases": [{"name": "no id"}, {"id": 1.5}, {"id": "p", "name": 3, "dependsOn": "a"}, {"id": "q", "dependsOn": [true]}, 7],
             "tasks": [{"id": "a", "phase": "p", "task": {"componentId": "c", "configId": "x", "mode": 1, "parameters": [1], "timeoutSeconds": 0},
                        "continueOnFailure": "yes", "enabled": 1},
                       {"phase": "p", "task": "c/x"},
                       {"id": "b", "phase": "q", "task": {"configId": "x"}},
                       {"id": "c", "phase": "q", "task": {"componentId": "c", "configId": "y", "timeoutSeconds": -1}, "parameters": [], "timeoutSeconds": 0},
                       {"id": "d"}]}
            """)
        #expect(found.map(\.field) == [
            "phases[0].id", "phases[1].id", "phases[2].dependsOn", "phases[2].name", "phases[3].dependsOn[0]", "phases[4]",
            "tasks[0].continueOnFailure", "tasks[0].enabled", "tasks[0].task.mode", "tasks[0].task.parameters", "tasks[0].task.timeoutSeconds",
            "tasks[1].id", "tasks[1].task",
            "tasks[2].task.componentId",
            "tasks[3].parameters", "tasks[3].task.timeoutSeconds", "tasks[3].timeoutSeconds",
            "tasks[4].phase", "tasks[4].task",
        ])
        #expect(found.first { $0.field == "tasks[3].task.timeoutSeconds" }?.message.contains("belongs on the task") == true)
    }

    @Test("paths sort by number, so phases[2] comes before phases[10]")
    func numericOrder() throws {
        let phases = (0...10).map { #"{"id": "p\#($0)", "name": 3}"# }.joined(separator: ", ")
        let found = try issues(#"{"phases": [\#(phases)], "tasks": []}"#)
        #expect(found.map(\.field) == (0...10).map { "phases[\($0)].name" })
    }

    @Test("a definition that is not an object, or lacks phases and tasks, is refused without a crash on huge ids")
    func shapes() throws {
        #expect(try issues("[1]").map(\.field) == ["definition"])
        #expect(try issues("{}").map(\.field) == ["phases", "tasks"])
        #expect(try issues(#"{"phases": {}, "tasks": 1}"#).map(\.field) == ["phases", "tasks"])
        let huge = try issues(#"{"phases": [{"id": 1e300}], "tasks": []}"#)
        #expect(huge.map(\.field) == ["phases[0].id"])
    }
}

@Suite("a run executes the enabled tasks a person selected")
struct TaskSelectionTests {
    let flow: OrchestrationDefinition
    init() throws {
        flow = try orchestration([("a", nil, ["1", "2", "off"]), ("b", nil, ["3"])], disabled: ["off"])
    }

    func issues(_ result: Result<Set<String>, FieldIssues>) -> [FieldIssue] {
        if case .failure(let issues) = result { return issues.items }
        return []
    }

    @Test("by default every enabled task runs and disabled tasks never do")
    func defaults() throws {
        #expect(try flow.selectTasks(only: [], exclude: []).get() == ["1", "2", "3"])
    }

    @Test("--task narrows the run to the named tasks")
    func only() throws {
        #expect(try flow.selectTasks(only: ["3", "1"], exclude: []).get() == ["1", "3"])
    }

    @Test("--exclude-task removes tasks; a disabled one may be excluded")
    func exclude() throws {
        #expect(try flow.selectTasks(only: [], exclude: ["2", "off"]).get() == ["1", "3"])
        #expect(try flow.selectTasks(only: ["1", "2"], exclude: ["2"]).get() == ["1"])
    }

    @Test("unknown task ids are refused under the option that named them")
    func unknown() {
        let found = issues(flow.selectTasks(only: ["9"], exclude: ["8"]))
        #expect(found.map(\.field) == ["task", "exclude-task"])
        #expect(found.allSatisfy { $0.message.contains("unknown task") })
    }

    @Test("naming a disabled task is refused and says it is disabled")
    func disabled() {
        let found = issues(flow.selectTasks(only: ["1", "off"], exclude: []))
        #expect(found.map(\.field) == ["task"])
        #expect(found[0].message.contains("'off' is disabled"))
    }

    @Test("a selection that runs nothing is refused")
    func nothing() {
        #expect(issues(flow.selectTasks(only: ["1"], exclude: ["1"])).map(\.field) == ["exclude-task"])
        #expect(issues(flow.selectTasks(only: [], exclude: ["1", "2", "3"])).map(\.field) == ["exclude-task"])
    }
}

@Suite("a run advances phase by phase")
struct RunProgressTests {
    @Test("a fresh run starts only the first phase's selected tasks")
    func freshRun() throws {
        let flow = try orchestration([("a", nil, ["1", "2", "off"]), ("b", nil, ["3"])], disabled: ["off"])
        let run = flow.run([:], selected: ["1", "3", "off"])
        #expect(run.starting == ["1"])
        #expect(run.statuses == [.pending, .pending])
        #expect(run.finalStatus == nil)
        #expect(run.phases[0].tasks.map(\.task.id) == ["1", "2", "off"])
        #expect(run.phases[0].tasks.map(\.selected) == [true, false, false])
    }

    @Test("the next phase starts only when the one before it is done")
    func nextPhase() throws {
        let flow = try orchestration([("a", nil, ["1", "2"]), ("b", nil, ["3"]), ("c", nil, ["4"])])
        let running = flow.run(["1": .success, "2": .processing])
        #expect(running.statuses == [.processing, .pending, .pending])
        #expect(running.starting.isEmpty)
        let done = flow.run(["1": .success, "2": .success])
        #expect(done.statuses == [.success, .pending, .pending])
        #expect(done.starting == ["3"])
        #expect(done.phases[0].tasks.map(\.status) == [.success, .success])
        #expect(flow.run(["1": .success, "2": .success, "3": .waiting]).starting.isEmpty)
    }

    @Test("a failure without continueOnFailure errors its phase, stops later phases and ends the run in error once its siblings end")
    func failureStops() throws {
        let flow = try orchestration([("a", nil, ["1", "2"]), ("b", nil, ["3"]), ("side", [], ["4", "5"]), ("after-side", nil, ["6"])])
        let sibling = flow.run(["1": .error, "2": .processing, "4": .success, "5": .processing])
        #expect(sibling.statuses == [.processing, .notExecuted, .processing, .notExecuted])
        #expect(sibling.starting.isEmpty)
        #expect(sibling.finalStatus == nil)
        let over = flow.run(["1": .error, "2": .success, "4": .success, "5": .success])
        #expect(over.statuses == [.error, .notExecuted, .success, .notExecuted])
        #expect(over.starting.isEmpty)
        #expect(over.finalStatus == .error)
    }

    @Test("a failure with continueOnFailure makes its phase warning, the next phase starts and the run ends warning")
    func continueOnFailure() throws {
        let flow = try orchestration([("a", nil, ["1", "2"]), ("b", nil, ["3"])], continueOnFailure: ["1"])
        let next = flow.run(["1": .error, "2": .success])
        #expect(next.statuses == [.warning, .pending])
        #expect(next.starting == ["3"])
        let end = flow.run(["1": .error, "2": .success, "3": .success])
        #expect(end.statuses == [.warning, .success])
        #expect(end.finalStatus == .warning)
    }

    @Test("when every task succeeds the run ends success")
    func allSuccess() throws {
        let flow = try orchestration([("a", nil, ["1"]), ("b", nil, ["2", "3"])])
        let run = flow.run(["1": .success, "2": .success, "3": .success])
        #expect(run.statuses == [.success, .success])
        #expect(run.starting.isEmpty)
        #expect(run.finalStatus == .success)
    }

    @Test("a deselected phase is skipped and its dependents proceed, but not before its own dependencies")
    func skippedPhase() throws {
        let flow = try orchestration([("a", nil, ["1"]), ("b", nil, ["2"]), ("c", nil, ["3"])])
        let first = flow.run([:], selected: ["1", "3"])
        #expect(first.statuses == [.pending, .skipped, .pending])
        #expect(first.starting == ["1"])
        let later = flow.run(["1": .success], selected: ["1", "3"])
        #expect(later.starting == ["3"])
        let end = flow.run(["1": .success, "3": .success], selected: ["1", "3"])
        #expect(end.statuses == [.success, .skipped, .success])
        #expect(end.finalStatus == .success)
        #expect(flow.run([:], selected: ["3"]).starting == ["3"])
    }

    @Test("a child that ends warning makes its phase and the run warning")
    func childWarning() throws {
        let flow = try orchestration([("a", nil, ["1", "2"]), ("b", nil, ["3"])])
        let next = flow.run(["1": .warning, "2": .success])
        #expect(next.status("a") == .warning)
        #expect(next.starting == ["3"])
        #expect(flow.run(["1": .warning, "2": .success, "3": .success]).finalStatus == .warning)
    }

    @Test("terminated and cancelled children count as failures")
    func killedChildren() throws {
        let flow = try orchestration([("a", nil, ["1"]), ("b", nil, ["2"])])
        for killed in [JobStatus.terminated, .cancelled] {
            let run = flow.run(["1": killed])
            #expect(run.statuses == [.error, .notExecuted])
            #expect(run.finalStatus == .error)
        }
    }

    @Test("two root phases start together, and a phase depending on both waits for both")
    func twoRoots() throws {
        let flow = try orchestration([("x", [], ["1"]), ("y", [], ["2"]), ("z", ["x", "y"], ["3"])])
        let fresh = flow.run([:])
        #expect(fresh.starting == ["1", "2"])
        #expect(flow.run(["1": .success, "2": .processing]).starting.isEmpty)
        #expect(flow.run(["1": .success, "2": .success]).starting == ["3"])
    }

    @Test("a phase left half-started when a failure stops the run is not-executed, so a retry reruns all of it")
    func halfStarted() throws {
        let flow = try orchestration([("a", [], ["1"]), ("side", [], ["2", "3"])])
        let run = flow.run(["1": .error, "2": .success])
        #expect(run.statuses == [.error, .notExecuted])
        #expect(run.starting.isEmpty)
        #expect(run.finalStatus == .error)
    }

    @Test("a definition edited into a cycle after parse never starts the cycle and does not hang")
    func editedCycle() throws {
        var flow = try orchestration([("a", nil, ["1"]), ("b", nil, ["2"])])
        flow.phases[0].dependsOn = ["b"]
        let run = flow.run([:])
        #expect(run.statuses == [.pending, .pending])
        #expect(run.starting.isEmpty && run.finalStatus == nil)
    }

    @Test("a task that already has a job is never started again")
    func noDoubleStart() throws {
        let flow = try orchestration([("a", nil, ["1", "2"])])
        let run = flow.run(["1": .created])
        #expect(run.starting == ["2"])
        #expect(run.status("a") == .processing)
    }

    @Test("every combination of two tasks' children gives the phase status the rules say")
    func everyCombination() throws {
        let failed: Set<JobStatus> = [.error, .terminated, .cancelled]
        let options: [JobStatus?] = [nil] + JobStatus.allCases
        var checked = 0
        for cof1 in [false, true] {
            for cof2 in [false, true] {
                let cof = [cof1, cof2]
                let flow = try orchestration([("a", nil, ["1", "2"]), ("b", nil, ["3"])],
                                             continueOnFailure: Set(["1", "2"].enumerated().filter { cof[$0.offset] }.map(\.element)))
                for first in options {
                    for second in options {
                        let statuses = [first, second]
                        var children: [String: JobStatus] = [:]
                        children["1"] = first
                        children["2"] = second
                        let run = flow.run(children)

                        let jobs = statuses.indices.compactMap { i in statuses[i].map { (status: $0, cof: cof[i]) } }
                        let fatal = jobs.contains { failed.contains($0.status) && !$0.cof }
                        let expected: PhaseStatus
                        if jobs.contains(where: { !$0.status.isFinal }) {
                            expected = .processing
                        } else if jobs.count < 2 {
                            expected = fatal ? .error : jobs.isEmpty ? .pending : .processing
                        } else if fatal {
                            expected = .error
                        } else if jobs.contains(where: { failed.contains($0.status) || $0.status == .warning }) {
                            expected = .warning
                        } else {
                            expected = .success
                        }
                        let label = "children \(statuses), continueOnFailure \(cof)"
                        #expect(run.status("a") == expected, "\(label)")
                        let done = expected == .success || expected == .warning
                        #expect(run.status("b") == (fatal ? .notExecuted : .pending), "\(label)")
                        let missing = ["1", "2"].enumerated().filter { statuses[$0.offset] == nil }.map(\.element)
                        #expect(run.starting == (fatal ? [] : done ? ["3"] : missing), "\(label)")
                        let allFinal = jobs.allSatisfy { $0.status.isFinal }
                        #expect(run.finalStatus == (fatal && allFinal ? .error : nil), "\(label)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == 400)
    }
}
