import BatonModel
import Foundation
import Testing

/// Three phases: Extract (orders, customers, a disabled archive), Transform (clean, which may fail
/// and go on), Load (warehouse).
private let definition = try! OrchestrationDefinition.parse(try! JSONValue.parse("""
    {"phases": [{"id": 1, "name": "Extract"}, {"id": 2, "name": "Transform"}, {"id": 3, "name": "Load"}],
     "tasks": [{"id": "orders", "name": "Orders", "phase": 1, "task": {"componentId": "extract", "configId": "orders"}},
               {"id": "customers", "name": "Customers", "phase": 1, "task": {"componentId": "extract", "configId": "customers"}},
               {"id": "archive", "name": "Archive", "phase": 1, "task": {"componentId": "extract", "configId": "archive"}, "enabled": false},
               {"id": "clean", "name": "Clean", "phase": 2, "task": {"componentId": "transform", "configId": "clean"}, "continueOnFailure": true},
               {"id": "warehouse", "name": "Warehouse", "phase": 3, "task": {"componentId": "load", "configId": "warehouse"}}]}
    """), configurationExists: { _, _ in true }).get()

private let start = Date(timeIntervalSince1970: 1_800_000_000)

/// A run of `definition` with `selected` tasks; its status and result as given.
private func run(_ status: JobStatus, selected: [String], message: String? = nil) -> Job {
    var job = Job(id: 40, runId: "40", status: status, componentId: ExecutorSpec.orchestratorComponentId, configId: "nightly",
                  type: Job.orchestrationType, parameters: definition.json, createdTime: start, startTime: start,
                  result: message.map { ["message": .string($0)] }, onlyOrchestrationTaskIds: selected)
    if status.isFinal {
        job.endTime = start.addingTimeInterval(9)
        job.durationSeconds = 9
    }
    return job
}

/// The task job of `task` in run 40.
private func child(_ id: Int64, _ task: String, phase: String, _ status: JobStatus, message: String? = nil) -> Job {
    let configId = definition.tasks.first { $0.id == task }!.configId
    let componentId = definition.tasks.first { $0.id == task }!.componentId
    return Job(id: id, runId: "40.\(id)", parentRunId: "40", status: status, componentId: componentId, configId: configId,
               createdTime: start, startTime: start.addingTimeInterval(1), endTime: status.isFinal ? start.addingTimeInterval(3) : nil,
               durationSeconds: status.isFinal ? 2 : nil, result: message.map { ["message": .string($0)] },
               orchestrationJobId: 40, orchestrationTaskId: task, orchestrationPhaseId: phase)
}

private func keys(_ value: JSONValue?) -> Set<String> { Set(value?.objectValue?.keys.map { $0 } ?? []) }

@Suite("views: the plan, the retry plan and the run view, one JSON shape each")
struct RunViewTests {
    @Test("the plan marks selected, deselected and disabled tasks, and a phase with none selected does not run")
    func plan() throws {
        let selected = try definition.selectTasks(only: [], exclude: ["clean"]).get()
        let plan = PlanView(orchestrationId: "nightly", definition: definition, selected: selected)
        #expect(plan.phases.map(\.runs) == [true, false, true])
        #expect(plan.tasks.filter(\.selected).map(\.task.id) == ["orders", "customers", "warehouse"])
        let json = plan.json
        #expect(keys(json) == ["orchestrationId", "phases"] && json["orchestrationId"] == "nightly")
        let phase = try #require(json["phases"]?.arrayValue?.first)
        #expect(keys(phase) == ["id", "name", "dependsOn", "runs", "tasks"])
        #expect(phase["id"] == "1" && phase["dependsOn"] == [] && phase["runs"] == true)
        let tasks = try #require(phase["tasks"]?.arrayValue)
        #expect(keys(tasks[0]) == ["id", "name", "componentId", "configId", "enabled", "continueOnFailure", "selected"])
        #expect(tasks.map { $0["selected"] } == [true, true, false] && tasks[2]["enabled"] == false)
        #expect(json["phases"]?.arrayValue?[1]["dependsOn"] == ["1"])
    }

    @Test("the retry plan of a failed run matches the failed task and the not-executed phase, not what succeeded")
    func retryPlan() throws {
        let failed = run(.error, selected: ["orders", "customers", "clean", "warehouse"])
        let children = [child(41, "orders", phase: "1", .success), child(42, "customers", phase: "1", .error, message: "exit code 1")]
        let plan = try RetryPlanView(run: failed, children: children)
        #expect(plan.matchedTaskIds == ["orders", "customers", "clean", "warehouse"], "a failed phase reruns whole")
        #expect(plan.items.map(\.task.id) == ["orders", "customers", "archive", "clean", "warehouse"])
        let json = plan.json
        #expect(keys(json) == ["jobId", "configId", "matchedTasks"] && json["jobId"] == "40" && json["configId"] == "nightly")
        let items = try #require(json["matchedTasks"]?.arrayValue)
        #expect(keys(items[1]) == ["taskId", "name", "phaseId", "phaseStatus", "componentId", "configId", "enabled", "jobId", "status", "matched"])
        #expect(items[1]["jobId"] == "42" && items[1]["status"] == "error" && items[1]["phaseStatus"] == "error")
        #expect(items[2]["matched"] == false && items[2]["enabled"] == false, "a disabled task is never rerun")
        #expect(items[3]["jobId"] == .null && items[3]["phaseStatus"] == "not-executed")
    }

    @Test("a plain job's retry plan has no tasks; an unreadable snapshot is refused")
    func retryPlanOfOthers() throws {
        let plain = Job(id: 7, runId: "7", status: .error, componentId: "extract", configId: "orders", createdTime: start)
        let plan = try RetryPlanView(run: plain, children: [])
        #expect(plan.items.isEmpty && plan.definition == nil && plan.json["matchedTasks"] == [])
        var broken = run(.error, selected: ["orders"])
        broken.parameters = ["phases": "nope"]
        #expect(throws: BatonError.self) { try RetryPlanView(run: broken, children: []) }
    }

    @Test("the run view pairs every task with its job, in phase order, and lists the failed ones")
    func runView() throws {
        let warning = run(.warning, selected: ["orders", "customers", "clean", "warehouse"], message: "finished with failures allowed to continue")
        let children = [child(44, "warehouse", phase: "3", .success), child(41, "orders", phase: "1", .success),
                        child(42, "customers", phase: "1", .success), child(43, "clean", phase: "2", .error, message: "bad rows")]
        let view = RunView(run: warning, children: children)
        #expect(view.phases.map(\.status) == [.success, .warning, .success])
        #expect(view.tasks.map { $0.job?.id } == [41, 42, nil, 43, 44])
        #expect(view.tasks.map(\.selected) == [true, true, false, true, true])
        #expect(view.failedTasks.map(\.task.id) == ["clean"] && view.failedTasks[0].message == "bad rows")
        #expect(view.message == "finished with failures allowed to continue")

        let json = view.json
        #expect(keys(json) == keys(warning.json).union(["phases"]), "the job's own fields, and its phases")
        let phases = try #require(json["phases"]?.arrayValue)
        #expect(keys(phases[1]) == ["id", "name", "dependsOn", "status", "tasks"] && phases[1]["status"] == "warning")
        let clean = try #require(phases[1]["tasks"]?.arrayValue?.first)
        #expect(keys(clean) == ["taskId", "name", "phaseId", "componentId", "configId", "enabled", "continueOnFailure", "selected",
                                "jobId", "status", "startTime", "endTime", "durationSeconds", "message"])
        #expect(clean["taskId"] == "clean" && clean["jobId"] == "43" && clean["status"] == "error" && clean["message"] == "bad rows")
        #expect(clean["continueOnFailure"] == true && clean["durationSeconds"] == 2)
        let archive = try #require(phases[0]["tasks"]?.arrayValue?[2])
        #expect(archive["jobId"] == .null && archive["status"] == .null && archive["selected"] == false && archive["enabled"] == false)
    }

    @Test("a run in progress: the started phase processes, later ones wait; a new run has every phase pending")
    func runInProgress() {
        let selected = ["orders", "customers", "warehouse"]
        let going = RunView(run: run(.processing, selected: selected), children: [child(41, "orders", phase: "1", .processing)])
        #expect(going.phases.map(\.status) == [.processing, .skipped, .pending])
        #expect(going.tasks.compactMap(\.job).map(\.id) == [41] && going.failedTasks.isEmpty)
        let new = RunView(run: run(.created, selected: selected), children: [])
        #expect(new.phases.map(\.status) == [.pending, .skipped, .pending])
        #expect(new.json["phases"]?.arrayValue?.count == 3)
    }

    @Test("a plain job's view is the job itself; so is a run whose snapshot cannot be read")
    func plainJob() {
        let plain = Job(id: 7, runId: "7", status: .success, componentId: "extract", configId: "orders", createdTime: start)
        #expect(RunView(run: plain, children: []).json == plain.json)
        #expect(RunView(run: plain, children: []).phases.isEmpty)
        var broken = run(.error, selected: ["orders"])
        broken.parameters = "not a definition"
        #expect(RunView(run: broken, children: []).json == broken.json)
    }

    @Test("a notification's summary of a run: status, orchestration, times, message and link")
    func summary() {
        let failed = RunView(run: run(.error, selected: ["orders"], message: "phase 'Extract' failed"), children: [])
        let summary = failed.summaryJSON(url: "http://console/console/jobs/40")
        #expect(keys(summary) == ["id", "status", "orchestration", "initializedBy", "createdTime", "startTime", "endTime", "durationSeconds", "message", "url"])
        #expect(summary["orchestration"] == "nightly" && summary["status"] == "error" && summary["message"] == "phase 'Extract' failed")
        let waiting = RunView(run: run(.waiting, selected: ["orders"]), children: [])
        #expect(!keys(waiting.summaryJSON(url: "u")).contains("endTime") && !keys(waiting.summaryJSON(url: "u")).contains("message"))
    }
}

@Suite("listings: schedules and notifications as the API and the CLI print them")
struct ListingTests {
    @Test("a schedule shows its next slot in UTC, none while disabled")
    func schedule() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000) // 2027-01-15T08:00:00Z
        var row = ScheduleRow(projectId: "default", id: "at-seven", orchestrationId: "nightly", cron: "0 7 * * *", enabled: true,
                              onOverlap: "skip", updated: now, lastFireTime: nil)
        let json = row.json(now: now)
        #expect(keys(json) == ["project", "id", "orchestration", "cron", "onOverlap", "enabled", "nextFireTime", "lastFireTime"])
        #expect(json["nextFireTime"] == .string(Job.formatTime(try #require(try CronExpression("0 7 * * *").next(after: now)))))
        #expect(json["lastFireTime"] == .null)
        row.enabled = false
        #expect(row.json(now: now)["nextFireTime"] == .null)
    }

    @Test("a notification's state follows its delivery; absent facts are left out")
    func notification() {
        var row = NotificationRow(id: 3, jobId: 40, event: "job-failed", subscriptionId: nil, channel: "email", target: "ops@example.com",
                                  attempts: 1, createdTime: start, deliveredTime: nil, failedTime: nil, lastError: nil)
        #expect(row.json["state"] == "pending" && row.json["jobId"] == "40" && row.json["subscription"] == nil)
        row.deliveredTime = start
        #expect(row.json["state"] == "delivered" && row.json["deliveredTime"] == .string(Job.formatTime(start)))
    }
}
