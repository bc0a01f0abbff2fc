import BatonModel
import Testing

@Suite("retry selects failed tasks and failed or not-executed phases")
struct RetryPlanTests {
    let definition: OrchestrationDefinition

    init() throws {
        definition = try OrchestrationDefinition.parse(try JSONValue.parse("""
            {"phases": [{"id": "1"}, {"id": "2"}, {"id": "3"}],
             "tasks": [{"id": "a", "phase": "1", "task": {"componentId": "c", "configId": "a"}},
                       {"id": "b", "phase": "1", "task": {"componentId": "c", "configId": "b"}},
                       {"id": "flaky", "phase": "1", "task": {"componentId": "c", "configId": "f"}, "continueOnFailure": true},
                       {"id": "c", "phase": "2", "task": {"componentId": "c", "configId": "c"}},
                       {"id": "off", "phase": "2", "task": {"componentId": "c", "configId": "o"}, "enabled": false},
                       {"id": "d", "phase": "3", "task": {"componentId": "c", "configId": "d"}}]}
            """), configurationExists: { _, _ in true }).get()
    }

    func matched(selected: Set<String>, _ children: [String: JobStatus]) -> [String] {
        var numbered: [String: (id: Int64, status: JobStatus)] = [:]
        for (index, (task, status)) in children.sorted(by: { $0.key < $1.key }).enumerated() { numbered[task] = (Int64(index + 1), status) }
        return definition.retryPlan(selected: selected, children: numbered).filter(\.matched).map(\.task.id)
    }

    var all: Set<String> { ["a", "b", "flaky", "c", "d"] }

    @Test("a failed phase reruns whole, later not-executed phases too; disabled tasks never")
    func failedPhase() {
        #expect(matched(selected: all, ["a": .error, "b": .success, "flaky": .success]) == ["a", "b", "flaky", "c", "d"])
    }

    @Test("a run that ended warning reruns only the task that failed")
    func warning() {
        #expect(matched(selected: all, ["a": .success, "b": .success, "flaky": .error, "c": .success, "d": .success]) == ["flaky"])
    }

    @Test("a successful run has nothing to rerun")
    func success() {
        #expect(matched(selected: all, ["a": .success, "b": .success, "flaky": .success, "c": .success, "d": .success]).isEmpty)
    }

    @Test("a failure in a later phase leaves the phases before it alone")
    func laterFailure() {
        #expect(matched(selected: all, ["a": .success, "b": .success, "flaky": .warning, "c": .error]) == ["c", "d"])
    }

    @Test("a killed run reruns the phase it stopped, whole, and the phases it never started")
    func killed() {
        #expect(matched(selected: all, ["a": .terminated, "b": .cancelled, "flaky": .success]) == ["a", "b", "flaky", "c", "d"])
    }

    @Test("tasks the run did not select are not matched")
    func deselected() {
        #expect(matched(selected: ["a", "c"], ["a": .error]) == ["a", "c"])
    }

    @Test("each item carries the previous job and its status")
    func previousJobs() {
        let plan = definition.retryPlan(selected: all, children: ["a": (7, .error)])
        #expect(plan.first { $0.task.id == "a" }.map { ($0.previousJobId, $0.previousStatus) } ?? (nil, nil) == (7, .error))
        #expect(plan.first { $0.task.id == "c" }?.previousJobId == nil)
        #expect(plan.map(\.task.id) == ["a", "b", "flaky", "c", "off", "d"])
    }
}
