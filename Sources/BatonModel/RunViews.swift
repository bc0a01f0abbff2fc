import Foundation

// The three views of an orchestration a person reads: what a run would execute (the plan), what a
// retry would rerun (the retry plan) and where a run stands (the run view). Each is built here
// once, from values, and has one JSON shape, printed alike by the API, `baton ... --json`, the
// console and the notifications. openapi.yaml describes the shapes (Plan, RetryPlan, Job.phases).

/// What a run of an orchestration would execute: `GET /v1/orchestrations/{id}/plan`,
/// `baton plan --json` and the console's run dialog.
///
/// ```json
/// {"orchestrationId": "nightly",
///  "phases": [{"id": "1", "name": "Extract", "dependsOn": [], "runs": true,
///              "tasks": [{"id": "10", "name": "Orders", "componentId": "extract", "configId": "orders",
///                         "enabled": true, "continueOnFailure": false, "selected": true}]}]}
/// ```
public struct PlanView: Sendable, Hashable {
    public struct Task: Sendable, Hashable {
        public var task: OrchestrationDefinition.Task
        /// Enabled and chosen: the run would start it.
        public var selected: Bool
    }

    public struct Phase: Sendable, Hashable {
        public var phase: OrchestrationDefinition.Phase
        /// Some task of the phase is selected; otherwise the phase is skipped.
        public var runs: Bool
        /// Definition order, disabled and deselected tasks included.
        public var tasks: [Task]
    }

    public var orchestrationId: String
    /// Definition order.
    public var phases: [Phase]

    /// - Parameters:
    ///   - selected: the task ids a run would execute (`OrchestrationDefinition.selectTasks`).
    public init(orchestrationId: String, definition: OrchestrationDefinition, selected: Set<String>) {
        self.orchestrationId = orchestrationId
        let tasksOfPhase = Dictionary(grouping: definition.tasks, by: \.phase)
        phases = definition.phases.map { phase in
            let tasks = (tasksOfPhase[phase.id] ?? []).map { Task(task: $0, selected: $0.enabled && selected.contains($0.id)) }
            return Phase(phase: phase, runs: tasks.contains(where: \.selected), tasks: tasks)
        }
    }

    public var tasks: [Task] { phases.flatMap(\.tasks) }

    public var json: JSONValue {
        [
            "orchestrationId": .string(orchestrationId),
            "phases": .array(phases.map { phase in
                [
                    "id": .string(phase.phase.id), "name": .string(phase.phase.name),
                    "dependsOn": .array(phase.phase.dependsOn.map { .string($0) }), "runs": .bool(phase.runs),
                    "tasks": .array(phase.tasks.map { item in
                        [
                            "id": .string(item.task.id), "name": .string(item.task.name), "componentId": .string(item.task.componentId),
                            "configId": .string(item.task.configId), "enabled": .bool(item.task.enabled),
                            "continueOnFailure": .bool(item.task.continueOnFailure), "selected": .bool(item.selected),
                        ]
                    }),
                ]
            }),
        ]
    }
}

/// What a retry of a finished job reruns by default ("Job Retry"): `GET /v1/jobs/{id}/retry-plan`,
/// `baton jobs retry-plan --json` and the console's retry dialog. A plain job has no tasks: its
/// retry queues the same configuration again.
///
/// ```json
/// {"jobId": "41", "configId": "nightly",
///  "matchedTasks": [{"taskId": "20", "name": "Transform", "phaseId": "2", "phaseStatus": "error",
///                    "componentId": "transform", "configId": "orders", "enabled": true,
///                    "jobId": "44", "status": "error", "matched": true}]}
/// ```
public struct RetryPlanView: Sendable, Hashable {
    public var run: Job
    /// The run's definition snapshot; nil for a plain job.
    public var definition: OrchestrationDefinition?
    /// Every task of the run in definition order, matched or not.
    public var items: [RetryItem]

    /// Builds the plan of `run` from its task jobs; throws `invalidInput` when the run's
    /// definition snapshot cannot be read.
    public init(run: Job, children: [Job]) throws {
        self.run = run
        guard run.isOrchestration else {
            definition = nil
            items = []
            return
        }
        let definition = try OrchestrationDefinition.snapshot(run.parameters)
        self.definition = definition
        var jobs: [String: (id: Int64, status: JobStatus)] = [:]
        for child in children {
            if let task = child.orchestrationTaskId { jobs[task] = (child.id, child.status) }
        }
        items = definition.retryPlan(selected: Set(run.onlyOrchestrationTaskIds ?? []), children: jobs)
    }

    /// The tasks a retry without a selection reruns, in definition order.
    public var matchedTaskIds: [String] { items.filter(\.matched).map(\.task.id) }

    public var json: JSONValue {
        [
            "jobId": .string(String(run.id)), "configId": .string(run.configId),
            "matchedTasks": .array(items.map { item in
                [
                    "taskId": .string(item.task.id), "name": .string(item.task.name), "phaseId": .string(item.task.phase),
                    "phaseStatus": .string(item.phaseStatus.rawValue), "componentId": .string(item.task.componentId),
                    "configId": .string(item.task.configId), "enabled": .bool(item.task.enabled),
                    "jobId": item.previousJobId.map { .string(String($0)) } ?? .null,
                    "status": item.previousStatus.map { .string($0.rawValue) } ?? .null,
                    "matched": .bool(item.matched),
                ]
            }),
        ]
    }
}

/// Where a run stands: the job, and for an orchestration run its phases in order with each task
/// and the task's job. `GET /v1/jobs/{id}`, `baton jobs show --json`, `baton run --wait --json`,
/// `baton jobs watch`, the console's job page and the notifications all read it.
///
/// Its JSON is the job's (Keboola's names) with `phases` added for a run:
/// ```json
/// {"id": "41", "status": "error", "component": "keboola.orchestrator", "config": "nightly", ...,
///  "phases": [{"id": "2", "name": "Transform", "dependsOn": ["1"], "status": "error",
///              "tasks": [{"taskId": "20", "name": "Transform", "phaseId": "2", "componentId": "transform",
///                         "configId": "orders", "enabled": true, "continueOnFailure": false, "selected": true,
///                         "jobId": "44", "status": "error", "startTime": "...", "endTime": "...",
///                         "durationSeconds": 1.2, "message": "exit code 1"}]}]}
/// ```
public struct RunView: Sendable, Hashable {
    public struct Task: Sendable, Hashable {
        public var task: OrchestrationDefinition.Task
        /// Enabled and chosen for this run.
        public var selected: Bool
        /// The task's job in this run; nil until it is created (or when the task does not run).
        public var job: Job?

        /// The job's result message, if it left one.
        public var message: String? { job?.result?["message"]?.stringValue }

        public var json: JSONValue {
            func time(_ date: Date?) -> JSONValue { date.map { .string(Job.formatTime($0)) } ?? .null }
            return [
                "taskId": .string(task.id), "name": .string(task.name), "phaseId": .string(task.phase),
                "componentId": .string(task.componentId), "configId": .string(task.configId), "enabled": .bool(task.enabled),
                "continueOnFailure": .bool(task.continueOnFailure), "selected": .bool(selected),
                "jobId": job.map { .string(String($0.id)) } ?? .null,
                "status": job.map { .string($0.status.rawValue) } ?? .null,
                "startTime": time(job?.startTime), "endTime": time(job?.endTime),
                "durationSeconds": job?.durationSeconds.map { .number($0) } ?? .null,
                "message": message.map { .string($0) } ?? .null,
            ]
        }
    }

    public struct Phase: Sendable, Hashable {
        public var phase: OrchestrationDefinition.Phase
        public var status: PhaseStatus
        /// Definition order, disabled and deselected tasks included.
        public var tasks: [Task]
    }

    public var run: Job
    /// The run's definition snapshot; nil for a plain job or a snapshot that cannot be read.
    public var definition: OrchestrationDefinition?
    /// Definition order; empty when `definition` is nil.
    public var phases: [Phase]

    /// - Parameters:
    ///   - children: the run's task jobs (any order); ignored for a plain job.
    public init(run: Job, children: [Job]) {
        self.run = run
        guard run.isOrchestration, let definition = try? OrchestrationDefinition.snapshot(run.parameters) else {
            definition = nil
            phases = []
            return
        }
        self.definition = definition
        let byTask = Dictionary(children.compactMap { job in job.orchestrationTaskId.map { ($0, job) } }, uniquingKeysWith: { $1 })
        let progress = definition.progress(selected: Set(run.onlyOrchestrationTaskIds ?? []), children: byTask.mapValues(\.status))
        phases = progress.phases.map { state in
            Phase(phase: state.phase, status: state.status,
                  tasks: state.tasks.map { Task(task: $0.task, selected: $0.selected, job: byTask[$0.task.id]) })
        }
    }

    public var tasks: [Task] { phases.flatMap(\.tasks) }

    /// Tasks whose job ended `error`, in phase order: what a failure notification lists.
    public var failedTasks: [Task] { tasks.filter { $0.job?.status == .error } }

    /// The run's result message, once it has one.
    public var message: String? { run.result?["message"]?.stringValue }

    public var json: JSONValue {
        guard definition != nil, case .object(var object) = run.json else { return run.json }
        object["phases"] = .array(phases.map { phase in
            [
                "id": .string(phase.phase.id), "name": .string(phase.phase.name),
                "dependsOn": .array(phase.phase.dependsOn.map { .string($0) }), "status": .string(phase.status.rawValue),
                "tasks": .array(phase.tasks.map(\.json)),
            ]
        })
        return .object(object)
    }

    /// The run in brief, as a webhook notification carries it (`job`), with `url` its console page.
    public func summaryJSON(url: String) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(String(run.id)), "status": .string(run.status.rawValue), "orchestration": .string(run.configId),
            "initializedBy": .string(run.initializedBy), "createdTime": .string(Job.formatTime(run.createdTime)), "url": .string(url),
        ]
        if let start = run.startTime { object["startTime"] = .string(Job.formatTime(start)) }
        if let end = run.endTime { object["endTime"] = .string(Job.formatTime(end)) }
        if let duration = run.durationSeconds { object["durationSeconds"] = .number(duration) }
        if let message { object["message"] = .string(message) }
        return .object(object)
    }
}
