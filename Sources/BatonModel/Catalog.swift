/// A project as written in an apply document (`kind: project`).
public struct ProjectSpec: Sendable, Hashable {
    public var id: String
    public var name: String
    public var maxParallelJobs: Int

    public static let defaultMaxParallelJobs = 10

    public init(id: String, name: String, maxParallelJobs: Int = ProjectSpec.defaultMaxParallelJobs) {
        self.id = id
        self.name = name
        self.maxParallelJobs = maxParallelJobs
    }
}

/// A component as written in an apply document (`kind: component`).
public struct ComponentSpec: Sendable, Hashable {
    public var projectId: String
    public var id: String
    public var executor: ExecutorSpec
    /// Default `timeoutSeconds` of this component's jobs (a job's or task's own wins).
    public var timeoutSeconds: Double? = nil
}

/// A configuration as written in an apply document (`kind: configuration`).
public struct ConfigurationSpec: Sendable, Hashable {
    public var projectId: String
    public var componentId: String
    public var id: String
    public var name: String
    public var parameters: JSONValue
}

/// An orchestration as written in an apply document (`kind: orchestration`): stored as a
/// configuration of component `keboola.orchestrator` whose parameters are the definition.
public struct OrchestrationSpec: Sendable, Hashable {
    public var projectId: String
    public var id: String
    public var name: String
    public var definition: OrchestrationDefinition

    public var configuration: ConfigurationSpec {
        ConfigurationSpec(projectId: projectId, componentId: ExecutorSpec.orchestratorComponentId, id: id, name: name, parameters: definition.json)
    }
}

/// Identifies a component within a project.
public struct ComponentKey: Sendable, Hashable, CustomStringConvertible {
    public var projectId: String
    public var componentId: String

    public init(projectId: String, componentId: String) {
        self.projectId = projectId
        self.componentId = componentId
    }

    public var description: String { projectId == "default" ? componentId : "\(projectId)/\(componentId)" }
}

/// A problem with one document of an apply file.
public struct DocumentIssue: Sendable, Hashable, CustomStringConvertible {
    /// 1-based position of the document in the file.
    public var document: Int
    public var kind: String?
    public var id: String?
    public var field: String
    public var message: String

    public var description: String {
        var place = "document \(document)"
        if let kind, let id { place += " (\(kind) '\(id)')" } else if let kind { place += " (\(kind))" }
        return "\(place): \(field): \(message)"
    }
}

/// Everything an apply file asks for, validated.
/// A schedule as written in an apply document (`kind: schedule`): runs an orchestration at the
/// times of a UTC cron expression.
public struct ScheduleSpec: Sendable, Hashable {
    public enum Overlap: String, Sendable, Hashable, CaseIterable {
        /// The new run waits behind the unfinished one (Keboola's behaviour; the default).
        case queue
        /// No new run while one of the orchestration is waiting or running; the firing is recorded as skipped.
        case skip
        /// Cancel the waiting runs, keep the newest.
        case replace

        /// What a firing does when these runs of the orchestration are unfinished (id, status):
        /// start a run (recorded as `outcome`) after cancelling `cancel`, or nothing (`skipped`).
        public func decide(unfinished: [(id: Int64, status: JobStatus)]) -> (create: Bool, cancel: [Int64], outcome: String) {
            guard !unfinished.isEmpty else { return (true, [], "created") }
            switch self {
            case .queue: return (true, [], "queued")
            case .skip: return (false, [], "skipped")
            case .replace:
                // A run already processing stays; the new one queues behind it.
                let waiting = unfinished.filter { !$0.status.isRunning }.map(\.id)
                return (true, waiting, waiting.isEmpty ? "queued" : "replaced")
            }
        }
    }
    public var projectId: String
    public var id: String
    public var orchestrationId: String
    public var cron: CronExpression
    public var enabled: Bool
    public var onOverlap: Overlap

    public init(projectId: String, id: String, orchestrationId: String, cron: CronExpression, enabled: Bool = true, onOverlap: Overlap = .queue) {
        self.projectId = projectId; self.id = id; self.orchestrationId = orchestrationId
        self.cron = cron; self.enabled = enabled; self.onOverlap = onOverlap
    }
}

public struct ApplySet: Sendable, Hashable {
    public var projects: [ProjectSpec] = []
    public var components: [ComponentSpec] = []
    public var configurations: [ConfigurationSpec] = []
    public var orchestrations: [OrchestrationSpec] = []
    public var schedules: [ScheduleSpec] = []
    public var notifications: [NotificationSpec] = []

    public init() {}

    /// (project, component, configuration) triples that orchestrations' tasks use, for looking up
    /// which exist already.
    public static func referencedConfigurations(in documents: [JSONValue]) -> [[String]] {
        var found = Set<[String]>()
        for document in documents where ["schedule", "notification"].contains(document["kind"]?.stringValue ?? "") {
            if let orchestration = document["orchestration"]?.idValue {
                found.insert([document["project"]?.idValue ?? "default", ExecutorSpec.orchestratorComponentId, orchestration])
            }
        }
        for document in documents where document["kind"]?.stringValue == "orchestration" {
            let project = document["project"]?.idValue ?? "default"
            let body = document["configuration"] ?? document
            for task in body["tasks"]?.arrayValue ?? [] {
                if let component = task["task"]?["componentId"]?.idValue, let config = task["task"]?["configId"]?.idValue {
                    found.insert([project, component, config])
                }
            }
        }
        return found.sorted { $0.joined(separator: "/") < $1.joined(separator: "/") }
    }

    /// Component keys that configurations use but the file does not define.
    public static func referencedComponents(in documents: [JSONValue]) -> Set<ComponentKey> {
        var defined = Set<ComponentKey>(), used = Set<ComponentKey>()
        for document in documents {
            let project = document["project"]?.idValue ?? "default"
            switch document["kind"]?.stringValue {
            case "component": if let id = document["id"]?.idValue { defined.insert(.init(projectId: project, componentId: id)) }
            case "configuration": if let id = document["component"]?.idValue { used.insert(.init(projectId: project, componentId: id)) }
            default: break
            }
        }
        return used.subtracting(defined)
    }

    /// Validates apply documents. `existing` holds the executors of components already in the
    /// database that the documents' configurations refer to; `existingProjects` the project ids.
    public static func validate(
        _ documents: [JSONValue],
        existing: [ComponentKey: ExecutorSpec],
        existingProjects: Set<String>,
        existingConfigurations: Set<[String]> = []
    ) -> Result<ApplySet, DocumentIssues> {
        var set = ApplySet()
        var issues: [DocumentIssue] = []
        var seen = Set<String>()
        var executors = existing
        var projects = existingProjects
        let kinds = ["project", "component", "configuration", "orchestration", "schedule", "notification"]
        var configurations = existingConfigurations

        for pass in 0..<4 {
            for (index, document) in documents.enumerated() {
                let number = index + 1
                guard let object = document.objectValue else {
                    if pass == 0 {
                        issues.append(DocumentIssue(document: number, field: "(document)", message: "must be an object with a 'kind', got \(document.typeName)"))
                    }
                    continue
                }
                let kind = object["kind"]?.stringValue
                let id = object["id"]?.idValue
                func issue(_ field: String, _ message: String) {
                    issues.append(DocumentIssue(document: number, kind: kind, id: id, field: field, message: message))
                }
                // Projects and components, then configurations, then orchestrations that use them.
                let kindPass = kind == "configuration" ? 1 : kind == "orchestration" ? 2 : kind == "schedule" || kind == "notification" ? 3 : 0
                if pass != kindPass { continue }
                guard let kind, kinds.contains(kind) else {
                    if pass == 0 {
                        issue("kind", object["kind"] == nil
                            ? "is required: one of \(kinds.joined(separator: ", "))"
                            : "unknown kind '\(object["kind"]!.stringValue ?? object["kind"]!.jsonText)': use one of \(kinds.joined(separator: ", "))")
                    }
                    continue
                }
                let maxLength = kind == "project" ? Identifier.projectMaxLength : 200
                guard let id, Identifier.isValid(id, maxLength: maxLength) else {
                    issue("id", object["id"] == nil ? "is required" : Identifier.rule(maxLength: maxLength))
                    continue
                }
                let project = object["project"]?.idValue ?? "default"
                switch kind {
                case "project":
                    var limit = ProjectSpec.defaultMaxParallelJobs
                    if let raw = object["maxParallelJobs"] {
                        if let n = raw.numberValue, n >= 1, n <= 100_000, n == n.rounded() { limit = Int(n) } else {
                            issue("maxParallelJobs", "must be a whole number from 1 to 100000")
                            continue
                        }
                    }
                    guard seen.insert("project/\(id)").inserted else {
                        issue("id", "duplicate project id '\(id)' in this file")
                        continue
                    }
                    projects.insert(id)
                    set.projects.append(ProjectSpec(id: id, name: object["name"]?.stringValue ?? id, maxParallelJobs: limit))
                case "component":
                    guard let raw = object["executor"] else {
                        issue("executor", "is required: {type: process|http|sql|noop|sleep|fail, ...}")
                        continue
                    }
                    switch ExecutorSpec.parse(raw) {
                    case .failure(let problems):
                        for problem in problems.items { issue(problem.field, problem.message) }
                    case .success(let executor):
                        if (executor == .orchestrator) != (id == ExecutorSpec.orchestratorComponentId) {
                            issue(executor == .orchestrator ? "executor.type" : "id",
                                  "component '\(ExecutorSpec.orchestratorComponentId)' and executor 'orchestrator' are built in: apply 'kind: orchestration' documents instead")
                            continue
                        }
                        let key = ComponentKey(projectId: project, componentId: id)
                        guard seen.insert("component/\(key)").inserted else {
                            issue("id", "duplicate component id '\(id)' in this file")
                            continue
                        }
                        if !projects.contains(project) {
                            issue("project", "unknown project '\(project)': apply a 'kind: project' document for it first")
                            continue
                        }
                        executors[key] = executor
                        var timeout: Double?
                        if let raw = object["timeoutSeconds"] {
                            guard let seconds = raw.numberValue, seconds > 0 else {
                                issue("timeoutSeconds", "must be a positive number of seconds: the default timeout of this component's jobs")
                                continue
                            }
                            timeout = seconds
                        }
                        set.components.append(ComponentSpec(projectId: project, id: id, executor: executor, timeoutSeconds: timeout))
                    }
                case "orchestration":
                    guard projects.contains(project) else {
                        issue("project", "unknown project '\(project)': apply a 'kind: project' document for it first")
                        continue
                    }
                    let body = object["configuration"] ?? document
                    switch OrchestrationDefinition.parse(body, configurationExists: { configurations.contains([project, $0, $1]) }) {
                    case .failure(let problems):
                        for problem in problems.items { issue(problem.field, problem.message) }
                    case .success(let definition):
                        let modes = Set(JobMode.allCases.map(\.rawValue))
                        let badModes = definition.tasks.enumerated().filter { !modes.contains($0.element.mode) }
                        for (index, task) in badModes {
                            issue("tasks[\(index)].task.mode", "mode '\(task.mode)' is not supported: use \(JobMode.list)")
                        }
                        guard badModes.isEmpty else { continue }
                        guard seen.insert("orchestration/\(project)/\(id)").inserted else {
                            issue("id", "duplicate orchestration id '\(id)' in this file")
                            continue
                        }
                        configurations.insert([project, ExecutorSpec.orchestratorComponentId, id])
                        set.orchestrations.append(OrchestrationSpec(projectId: project, id: id, name: object["name"]?.stringValue ?? id, definition: definition))
                    }
                case "schedule":
                    guard let orchestration = object["orchestration"]?.idValue else {
                        issue("orchestration", "is required: the id of the orchestration this schedule runs")
                        continue
                    }
                    var ok = true
                    if !configurations.contains([project, ExecutorSpec.orchestratorComponentId, orchestration]) {
                        issue("orchestration", "unknown orchestration '\(orchestration)' in project '\(project)': define it in this file or apply it first")
                        ok = false
                    }
                    var cron: CronExpression?
                    if let text = object["cron"]?.stringValue {
                        do { cron = try CronExpression(text) } catch let error as BatonError {
                            issue("cron", error.message)
                            ok = false
                        } catch { ok = false }
                    } else {
                        issue("cron", "is required: 5 fields in UTC, such as '0 2 * * *' (02:00 UTC every day)")
                        ok = false
                    }
                    var overlap = ScheduleSpec.Overlap.queue
                    if let raw = object["onOverlap"] {
                        if let text = raw.stringValue, let parsed = ScheduleSpec.Overlap(rawValue: text) { overlap = parsed } else {
                            issue("onOverlap", "must be queue (the default: wait behind the running run), skip or replace")
                            ok = false
                        }
                    }
                    var enabled = true
                    if let raw = object["enabled"] {
                        if case .bool(let value) = raw { enabled = value } else {
                            issue("enabled", "must be true or false")
                            ok = false
                        }
                    }
                    guard ok, let cron else { continue }
                    guard seen.insert("schedule/\(project)/\(id)").inserted else {
                        issue("id", "duplicate schedule id '\(id)' in this file")
                        continue
                    }
                    set.schedules.append(ScheduleSpec(projectId: project, id: id, orchestrationId: orchestration, cron: cron,
                                                      enabled: enabled, onOverlap: overlap))
                case "notification":
                    guard projects.contains(project) else {
                        issue("project", "unknown project '\(project)': apply a 'kind: project' document for it first")
                        continue
                    }
                    switch NotificationSpec.parse(object, projectId: project, id: id,
                                                  orchestrationExists: { configurations.contains([project, ExecutorSpec.orchestratorComponentId, $0]) }) {
                    case .failure(let problems):
                        for problem in problems.items { issue(problem.field, problem.message) }
                    case .success(let spec):
                        guard seen.insert("notification/\(project)/\(id)").inserted else {
                            issue("id", "duplicate notification id '\(id)' in this file")
                            continue
                        }
                        set.notifications.append(spec)
                    }
                default: // configuration
                    guard let componentId = object["component"]?.idValue else {
                        issue("component", "is required: the id of the component this configuration runs")
                        continue
                    }
                    let key = ComponentKey(projectId: project, componentId: componentId)
                    guard let executor = executors[key] else {
                        issue("component", "unknown component '\(componentId)': define it in this file or apply it first")
                        continue
                    }
                    let parameters = object["parameters"] ?? .object([:])
                    let problems = executor.parameterIssues(parameters)
                    for problem in problems { issue(problem.field, problem.message) }
                    if let name = object["name"], name.stringValue == nil { issue("name", "must be a string") }
                    guard problems.isEmpty else { continue }
                    guard seen.insert("configuration/\(key)/\(id)").inserted else {
                        issue("id", "duplicate configuration id '\(id)' of component '\(componentId)' in this file")
                        continue
                    }
                    configurations.insert([project, componentId, id])
                    set.configurations.append(ConfigurationSpec(
                        projectId: project, componentId: componentId, id: id,
                        name: object["name"]?.stringValue ?? id, parameters: parameters))
                }
            }
        }
        issues.sort { ($0.document, $0.field) < ($1.document, $1.field) }
        return issues.isEmpty ? .success(set) : .failure(DocumentIssues(issues))
    }

}

/// Every problem of an apply file, found at once.
public struct DocumentIssues: Error, Sendable, Hashable {
    public var items: [DocumentIssue]
    public init(_ items: [DocumentIssue]) { self.items = items }
}
