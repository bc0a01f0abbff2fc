import Foundation

/// Keboola's keboola.orchestrator configuration, validated. Ids may be numbers or strings in input; stored as strings.
///
/// Baton's own optional fields, `parameters`, `timeoutSeconds`, `retries` and
/// `retryDelaySeconds` (automatic retries of a failed job, default 0 and 10 s), sit on the task beside
/// `continueOnFailure` and `enabled`:
/// ```json
/// {"phases": [{"id": 1, "name": "Extract"}, {"id": 2, "name": "Load"}],
///  "tasks": [{"id": 10, "name": "Orders", "phase": 1,
///             "task": {"componentId": "extract", "configId": "orders", "mode": "run"},
///             "continueOnFailure": false, "enabled": true,
///             "parameters": {"since": "2026-10-01"}, "timeoutSeconds": 600}]}
/// ```
public struct OrchestrationDefinition: Sendable, Hashable {
    public struct Phase: Sendable, Hashable {
        public var id: String
        public var name: String
        /// Resolved: a phase without `dependsOn` in the input depends on the phase before it (none for the first); `dependsOn: []` makes a root.
        public var dependsOn: [String]
        /// Keboola's phase description, kept as given.
        public var description: String? = nil
    }

    public struct Task: Sendable, Hashable {
        public var id: String
        public var name: String
        public var phase: String
        public var componentId: String
        public var configId: String
        public var mode: String
        public var continueOnFailure: Bool
        public var enabled: Bool
        /// Overrides top-level keys of the configuration's parameters.
        public var parameters: JSONValue?
        public var timeoutSeconds: Double?
        public var retries: Int = 0
        public var retryDelaySeconds: Double = 10
        /// Keboola's `behavior` object, kept as given; its `onError` ("stop" or "warning") is
        /// what `continueOnFailure` says ("warning" is continueOnFailure: true).
        public var behavior: JSONValue? = nil
    }

    /// Input order.
    public var phases: [Phase]
    /// Input order.
    public var tasks: [Task]
    /// What is accepted but worth saying at apply: a phase with no task yet, or with every task
    /// disabled (it shows as `skipped` in a run). Keboola accepts both.
    public var warnings: [FieldIssue] = []

    /// Parses an orchestration's definition: an object with `phases` and `tasks` (extra fields anywhere are ignored, so a real Keboola configuration is accepted as is).
    /// `configurationExists(componentId, configId)` says whether a configuration exists (in the database or the same apply file).
    /// All problems are reported at once, each with a path: "phases[1].id", "tasks[3].phase", "tasks[0].task.configId", "phases[2].dependsOn".
    public static func parse(_ json: JSONValue, configurationExists: (String, String) -> Bool) -> Result<OrchestrationDefinition, FieldIssues> {
        guard let object = json.objectValue else {
            return .failure(FieldIssues([FieldIssue("definition", "must be an object with 'phases' and 'tasks', got \(json.typeName)")]))
        }
        var issues: [FieldIssue] = []
        func issue(_ field: String, _ message: String) { issues.append(FieldIssue(field, message)) }
        func list(_ key: String, of what: String) -> [JSONValue] {
            switch object[key] {
            case .array(let items)?: return items
            case nil: issue(key, "is required: a list of \(what)")
            case let other?: issue(key, "must be a list of \(what), got \(other.typeName)")
            }
            return []
        }
        func id(_ value: JSONValue?, _ field: String, _ what: String) -> String? {
            guard let value else {
                issue(field, "is required: \(what), a string or an integer")
                return nil
            }
            guard let id = idValue(value), !id.isEmpty else {
                issue(field, "must be a non-empty string or an integer, got \(value.jsonText)")
                return nil
            }
            return id
        }
        func string(_ value: JSONValue?, _ field: String) -> String? {
            guard let value else { return nil }
            if value.stringValue == nil { issue(field, "must be a string, got \(value.typeName)") }
            return value.stringValue
        }
        func bool(_ value: JSONValue?, _ field: String, default fallback: Bool) -> Bool {
            guard let value else { return fallback }
            if value.boolValue == nil { issue(field, "must be true or false, got \(value.jsonText)") }
            return value.boolValue ?? fallback
        }

        let rawPhases = list("phases", of: "phases: {id, name, dependsOn}")
        let rawTasks = list("tasks", of: "tasks: {id, name, phase, task: {componentId, configId}}")
        var warnings: [FieldIssue] = []

        var phases: [Phase] = []
        var phasePath: [String: String] = [:]   // phase id -> "phases[i]" of its first occurrence
        var explicit: Set<String> = []          // phases whose dependsOn was written, for the cycle hint
        var previous: String?
        for (index, raw) in rawPhases.enumerated() {
            let path = "phases[\(index)]"
            guard let phase = raw.objectValue else {
                issue(path, "must be an object with an 'id', got \(raw.typeName)")
                continue
            }
            let phaseId = id(phase["id"], "\(path).id", "the phase's id")
            let name = string(phase["name"], "\(path).name")
            let description = string(phase["description"], "\(path).description")
            var dependsOn: [String] = []
            if let raw = phase["dependsOn"] {
                for (position, item) in (raw.arrayValue ?? []).enumerated() {
                    if let dependency = idValue(item) {
                        if !dependsOn.contains(dependency) { dependsOn.append(dependency) }
                    } else {
                        issue("\(path).dependsOn[\(position)]", "must be a phase id, a string or an integer, got \(item.jsonText)")
                    }
                }
                if raw.arrayValue == nil {
                    issue("\(path).dependsOn", "must be a list of phase ids, got \(raw.typeName); [] makes a phase that waits for none")
                }
            }
            guard let phaseId else { continue }
            defer { previous = phaseId }
            if let first = phasePath[phaseId] {
                issue("\(path).id", "duplicate phase id '\(phaseId)': \(first) has it too")
                continue
            }
            phasePath[phaseId] = path
            let written = phase["dependsOn"] != nil
            if written { explicit.insert(phaseId) }
            phases.append(Phase(id: phaseId, name: name ?? phaseId, dependsOn: written ? dependsOn : previous.map { [$0] } ?? [], description: description))
        }

        // Only dependencies on existing other phases enter the graph, so one mistake is reported once.
        for index in phases.indices {
            let phase = phases[index], path = "\(phasePath[phase.id]!).dependsOn"
            for dependency in phase.dependsOn {
                if dependency == phase.id {
                    issue(path, "phase '\(phase.id)' depends on itself: remove '\(phase.id)' from its dependsOn")
                } else if phasePath[dependency] == nil {
                    issue(path, "unknown phase '\(dependency)': the phases are \(quotedList(phases.map(\.id)))")
                }
            }
            phases[index].dependsOn.removeAll { $0 == phase.id || phasePath[$0] == nil }
        }
        for cycle in dependencyCycles(phases) {
            let hint = cycle.contains { !explicit.contains($0) } ? "; a phase without dependsOn depends on the phase before it" : ""
            issue("\(phasePath[cycle[0]]!).dependsOn",
                  "dependency cycle \((cycle + [cycle[0]]).map { "'\($0)'" }.joined(separator: " -> ")) (each depends on the next): remove one of these dependencies\(hint)")
        }

        var tasks: [Task] = []
        var taskPath: [String: String] = [:]
        var tasksOfPhase: [String: (all: Int, enabled: Int)] = [:]
        for (index, raw) in rawTasks.enumerated() {
            let path = "tasks[\(index)]"
            guard let task = raw.objectValue else {
                issue(path, "must be an object with 'id', 'phase' and 'task', got \(raw.typeName)")
                continue
            }
            let taskId = id(task["id"], "\(path).id", "the task's id")
            let name = string(task["name"], "\(path).name")
            let phase = id(task["phase"], "\(path).phase", "the id of the phase the task belongs to")
            var continueOnFailure = bool(task["continueOnFailure"], "\(path).continueOnFailure", default: false)
            let behavior = task["behavior"]
            if let behavior {
                switch behavior["onError"]?.stringValue {
                case "warning"?:
                    if task["continueOnFailure"]?.boolValue == false {
                        issue("\(path).behavior.onError", "says \"warning\" (go on after a failure) but continueOnFailure is false: keep one of them")
                    }
                    continueOnFailure = true
                case "stop"?:
                    if task["continueOnFailure"]?.boolValue == true {
                        issue("\(path).behavior.onError", "says \"stop\" but continueOnFailure is true: keep one of them")
                    }
                case nil where behavior["onError"] == nil && behavior.objectValue != nil:
                    break
                default:
                    issue("\(path).behavior", "must be an object whose onError is \"stop\" or \"warning\", got \(behavior.jsonText)")
                }
            }
            let enabled = bool(task["enabled"], "\(path).enabled", default: true)
            var parameters: JSONValue?, timeout: Double?
            if let raw = task["parameters"] {
                if raw.objectValue != nil { parameters = raw } else {
                    issue("\(path).parameters", "must be an object whose keys replace the configuration's top-level parameters, got \(raw.typeName)")
                }
            }
            var retries = 0, retryDelay = 10.0
            if let raw = task["retries"] {
                if let n = raw.numberValue, n >= 0, n <= 100, n == n.rounded() { retries = Int(n) } else {
                    issue("\(path).retries", "must be a whole number of automatic retries from 0 to 100, got \(raw.jsonText)")
                }
            }
            if let raw = task["retryDelaySeconds"] {
                if let n = raw.numberValue, n >= 0, n <= 86_400 { retryDelay = n } else {
                    issue("\(path).retryDelaySeconds", "must be a number of seconds from 0 to 86400, got \(raw.jsonText)")
                }
            }
            if let raw = task["timeoutSeconds"] {
                if let seconds = raw.numberValue, seconds > 0 { timeout = seconds } else {
                    issue("\(path).timeoutSeconds", "must be a positive number of seconds, got \(raw.jsonText)")
                }
            }
            if let phase {
                if phasePath[phase] == nil {
                    issue("\(path).phase", "unknown phase '\(phase)': the phases are \(quotedList(phases.map(\.id)))")
                } else {
                    tasksOfPhase[phase, default: (0, 0)].all += 1
                    if enabled { tasksOfPhase[phase, default: (0, 0)].enabled += 1 }
                }
            }

            var componentId: String?, configId: String?, mode = "run"
            switch task["task"] {
            case .object(let job)?:
                componentId = id(job["componentId"], "\(path).task.componentId", "the component to run")
                configId = id(job["configId"], "\(path).task.configId", "the configuration to run")
                if let raw = job["mode"] {
                    if let value = raw.stringValue, !value.isEmpty { mode = value } else {
                        issue("\(path).task.mode", "must be a non-empty string such as \"run\", got \(raw.jsonText)")
                    }
                }
                // Extra fields are ignored, so a Baton field one level too deep would silently do nothing.
                for key in ["parameters", "timeoutSeconds"] where job[key] != nil {
                    issue("\(path).task.\(key)", "belongs on the task, beside continueOnFailure: {\"id\": ..., \"task\": {...}, \"\(key)\": ...}")
                }
                if let componentId, let configId, !configurationExists(componentId, configId) {
                    issue("\(path).task.configId", "unknown configuration '\(configId)' of component '\(componentId)': apply it first, or in the same file")
                }
            case nil:
                issue("\(path).task", "is required: {\"componentId\": ..., \"configId\": ...}")
            case let other?:
                issue("\(path).task", "must be an object {\"componentId\": ..., \"configId\": ...}, got \(other.typeName)")
            }

            guard let taskId else { continue }
            if let first = taskPath[taskId] {
                issue("\(path).id", "duplicate task id '\(taskId)': \(first) has it too")
                continue
            }
            taskPath[taskId] = path
            if let phase, let componentId, let configId {
                tasks.append(Task(id: taskId, name: name ?? taskId, phase: phase, componentId: componentId, configId: configId,
                                  mode: mode, continueOnFailure: continueOnFailure, enabled: enabled,
                                  parameters: parameters, timeoutSeconds: timeout, retries: retries, retryDelaySeconds: retryDelay,
                                  behavior: behavior))
            }
        }

        // Keboola accepts a phase with no task yet, and one whose tasks are all disabled (how its
        // users skip a step for a while): a run shows it skipped.
        for phase in phases {
            let counts = tasksOfPhase[phase.id] ?? (0, 0)
            if counts.all == 0 {
                warnings.append(FieldIssue(phasePath[phase.id]!, "phase '\(phase.id)' has no tasks yet: a run skips it"))
            } else if counts.enabled == 0 {
                warnings.append(FieldIssue(phasePath[phase.id]!, "phase '\(phase.id)' has only disabled tasks: a run skips it"))
            }
        }
        if !tasks.contains(where: \.enabled) && object["tasks"] != nil && issues.isEmpty {
            warnings.append(FieldIssue("tasks", tasks.isEmpty ? "the orchestration has no tasks yet: it cannot be run until it has one"
                                                               : "every task is disabled: it cannot be run until one is enabled"))
        }

        guard issues.isEmpty else {
            // Numeric order, so phases[2] comes before phases[10]; issues of one path keep the order they were found in.
            let sorted = issues.enumerated().sorted {
                switch $0.element.field.compare($1.element.field, options: .numeric) {
                case .orderedAscending: true
                case .orderedDescending: false
                case .orderedSame: $0.offset < $1.offset
                }
            }
            return .failure(FieldIssues(sorted.map(\.element)))
        }
        return .success(OrchestrationDefinition(phases: phases, tasks: tasks, warnings: warnings))
    }

    /// A run's definition snapshot (`jobs.parameters` of an orchestration run), or a saved
    /// orchestration: checked when it was applied, so the configurations are not looked up again.
    /// The one decoder of stored definitions.
    public static func snapshot(_ json: JSONValue) throws -> OrchestrationDefinition {
        switch parse(json, configurationExists: { _, _ in true }) {
        case .success(let definition): return definition
        case .failure(let issues):
            throw BatonError(.environment, "invalid orchestration snapshot: \(issues.items.map(\.description).joined(separator: "; "))")
        }
    }

    /// The stored form (Keboola's shape, ids as strings, dependsOn always explicit); parse(json) of it gives the same definition back.
    public var json: JSONValue {
        func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
        return [
            "phases": .array(phases.map { phase in
                var object: [String: JSONValue] = ["id": .string(phase.id), "name": .string(phase.name), "dependsOn": strings(phase.dependsOn)]
                if let description = phase.description { object["description"] = .string(description) }
                return .object(object)
            }),
            "tasks": .array(tasks.map { task in
                let job: JSONValue = ["componentId": .string(task.componentId), "configId": .string(task.configId), "mode": .string(task.mode)]
                var object: [String: JSONValue] = ["id": .string(task.id), "name": .string(task.name), "phase": .string(task.phase), "task": job,
                                                   "continueOnFailure": .bool(task.continueOnFailure), "enabled": .bool(task.enabled)]
                if let parameters = task.parameters { object["parameters"] = parameters }
                if let timeout = task.timeoutSeconds { object["timeoutSeconds"] = .number(timeout) }
                if task.retries > 0 {
                    object["retries"] = .number(Double(task.retries))
                    object["retryDelaySeconds"] = .number(task.retryDelaySeconds)
                }
                if let behavior = task.behavior { object["behavior"] = behavior }
                return .object(object)
            }),
        ]
    }

    /// Task ids a run will execute: enabled tasks, narrowed to `only` when it is not empty, minus `exclude`.
    /// Errors (FieldIssues, field "task" or "exclude-task"): an unknown task id; `only` naming a disabled task (message says it is disabled); a selection that runs nothing.
    public func selectTasks(only: [String], exclude: [String]) -> Result<Set<String>, FieldIssues> {
        let byId = Dictionary(tasks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let known = "the tasks are \(quotedList(tasks.map(\.id)))"
        var issues: [FieldIssue] = []
        for id in only {
            if let task = byId[id] {
                if !task.enabled { issues.append(FieldIssue("task", "task '\(id)' is disabled: enable it in the orchestration to run it")) }
            } else {
                issues.append(FieldIssue("task", "unknown task '\(id)': \(known)"))
            }
        }
        for id in exclude where byId[id] == nil {
            issues.append(FieldIssue("exclude-task", "unknown task '\(id)': \(known)"))
        }
        guard issues.isEmpty else { return .failure(FieldIssues(issues)) }

        var chosen = Set(tasks.filter(\.enabled).map(\.id))
        if !only.isEmpty { chosen.formIntersection(only) }
        chosen.subtract(exclude)
        guard !chosen.isEmpty else {
            return .failure(FieldIssues([FieldIssue(exclude.isEmpty ? "task" : "exclude-task", "this selection runs no task: choose at least one enabled task")]))
        }
        return .success(chosen)
    }

    /// The state of a run: which tasks to start now and, when the run is over, its final status.
    /// `children` maps task id -> status of that task's child job (only tasks that have a job).
    public func progress(selected: Set<String>, children: [String: JobStatus]) -> RunProgress {
        func chosen(_ task: Task) -> Bool { task.enabled && selected.contains(task.id) }
        let tasksOfPhase = Dictionary(grouping: tasks, by: \.phase)
        let phaseById = Dictionary(phases.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        // A failure without continueOnFailure dooms the run to `error`, so nothing new starts from
        // then on, even while the failed task's siblings still run.
        let stopped = tasks.contains { chosen($0) && !$0.continueOnFailure && children[$0.id].map(Self.failed) == true }

        var memo: [String: PhaseStatus] = [:]
        var visiting: Set<String> = []
        // A skipped phase passes its own dependencies on, so deselecting a middle phase never lets
        // a later phase overtake an earlier one. The visiting guard only matters for definitions
        // edited after parse (parse refuses cycles): a cycle is never done.
        func isDone(_ id: String) -> Bool {
            guard let phase = phaseById[id], visiting.insert(id).inserted else { return false }
            defer { visiting.remove(id) }
            switch status(of: phase) {
            case .success, .warning: return true
            case .skipped: return phase.dependsOn.allSatisfy(isDone)
            default: return false
            }
        }
        func mayStart(_ phase: Phase) -> Bool { !stopped && phase.dependsOn.allSatisfy(isDone) }
        func status(of phase: Phase) -> PhaseStatus {
            if let known = memo[phase.id] { return known }
            let derived = derive(phase)
            memo[phase.id] = derived
            return derived
        }
        func derive(_ phase: Phase) -> PhaseStatus {
            let mine = (tasksOfPhase[phase.id] ?? []).filter(chosen)
            guard !mine.isEmpty else { return .skipped }
            let jobs = mine.compactMap { task in children[task.id].map { (task: task, status: $0) } }
            if jobs.contains(where: { !$0.status.isFinal }) { return .processing }
            let fatal = jobs.contains { Self.failed($0.status) && !$0.task.continueOnFailure }
            if jobs.count < mine.count {
                if stopped { return fatal ? .error : .notExecuted }
                return jobs.isEmpty ? .pending : .processing
            }
            if fatal { return .error }
            return jobs.contains { Self.failed($0.status) || $0.status == .warning } ? .warning : .success
        }

        let states = phases.map { phase in
            RunProgress.PhaseState(phase: phase, status: status(of: phase), tasks: (tasksOfPhase[phase.id] ?? []).map {
                RunProgress.TaskState(task: $0, selected: chosen($0), status: children[$0.id])
            })
        }
        let startable = Set(phases.filter(mayStart).map(\.id))
        let toStart = tasks.filter { chosen($0) && children[$0.id] == nil && startable.contains($0.phase) }

        // A parent never ends before its children.
        var finalStatus: JobStatus?
        if children.values.allSatisfy(\.isFinal) {
            if stopped {
                finalStatus = .error
            } else if states.allSatisfy({ [.success, .warning, .skipped].contains($0.status) }) {
                finalStatus = states.contains { $0.status == .warning } ? .warning : .success
            }
        }
        return RunProgress(phases: states, tasksToStart: toStart, finalStatus: finalStatus)
    }

    /// Keboola counts a killed child as a failed task.
    static func failed(_ status: JobStatus) -> Bool {
        status == .error || status == .terminated || status == .cancelled
    }

    /// Phases in dependency cycles, each cycle once, starting at its phase that comes first in the input.
    static func dependencyCycles(_ phases: [Phase]) -> [[String]] {
        let order = Dictionary(phases.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { first, _ in first })
        let dependencies = Dictionary(phases.map { ($0.id, $0.dependsOn) }, uniquingKeysWith: { first, _ in first })
        var finished: Set<String> = [], path: [String] = [], cycles: [[String]] = [], seen: Set<Set<String>> = []
        func visit(_ id: String) {
            path.append(id)
            for dependency in dependencies[id] ?? [] where !finished.contains(dependency) {
                if let start = path.firstIndex(of: dependency) {
                    let cycle = Array(path[start...])
                    let first = cycle.indices.min { order[cycle[$0]]! < order[cycle[$1]]! }!
                    if seen.insert(Set(cycle)).inserted { cycles.append(Array(cycle[first...] + cycle[..<first])) }
                } else {
                    visit(dependency)
                }
            }
            path.removeLast()
            finished.insert(id)
        }
        for phase in phases where !finished.contains(phase.id) { visit(phase.id) }
        return cycles.sorted { order[$0[0]]! < order[$1[0]]! }
    }
}

/// `JSONValue.idValue`, minus the numbers it cannot hold (it would trap converting 1e300 to Int64).
private func idValue(_ value: JSONValue) -> String? {
    if let number = value.numberValue, !(abs(number) < 9.0e18) { return nil }
    return value.idValue
}

private func quotedList(_ ids: [String]) -> String {
    let shown = ids.prefix(10).map { "'\($0)'" }.joined(separator: ", ")
    return ids.count > 10 ? shown + ", ..." : shown
}

/// A phase's place in a run.
public enum PhaseStatus: String, Sendable, Hashable {
    /// May still run: waits for the phases it depends on.
    case pending
    /// Some of its jobs exist and not all are final.
    case processing
    case success, warning, error
    /// Will not run: an earlier failure stopped the run.
    case notExecuted = "not-executed"
    /// None of its tasks is selected/enabled; done for its dependents once its own dependencies are.
    case skipped
}

/// Where a run stands: what to start now and, once it is over, its final status.
public struct RunProgress: Sendable, Hashable {
    public struct TaskState: Sendable, Hashable {
        public var task: OrchestrationDefinition.Task
        /// Enabled and chosen for this run.
        public var selected: Bool
        /// The child's status, nil if it has no job.
        public var status: JobStatus?
    }

    public struct PhaseState: Sendable, Hashable {
        public var phase: OrchestrationDefinition.Phase
        public var status: PhaseStatus
        /// The phase's tasks in definition order, including unselected/disabled ones.
        public var tasks: [TaskState]
    }

    /// Definition order.
    public var phases: [PhaseState]
    /// Selected tasks whose job should be created now (their phase's dependencies are all done and nothing stopped the run), definition order; never a task that already has a job.
    public var tasksToStart: [OrchestrationDefinition.Task]
    /// success / warning / error once nothing runs and nothing more will start; nil while the run goes on.
    public var finalStatus: JobStatus?
}
