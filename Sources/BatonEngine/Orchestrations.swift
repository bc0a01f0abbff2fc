import BatonModel
import BatonStore
import Foundation

/// Plans and starts orchestration runs; derives the phase view of a run.
public enum Orchestrations {
    /// The saved definition of orchestration `id`.
    public static func definition(store: Store, projectId: String, id: String) async throws -> OrchestrationDefinition {
        guard let saved = try await store.configuration(projectId: projectId, componentId: ExecutorSpec.orchestratorComponentId, configId: id) else {
            throw BatonError(.notFound, "unknown orchestration '\(id)' in project '\(projectId)': apply a 'kind: orchestration' document first", field: "orchestration")
        }
        switch OrchestrationDefinition.parse(saved.parameters, configurationExists: { _, _ in true }) {
        case .success(let definition): return definition
        case .failure(let issues):
            throw BatonError(.invalidInput, "orchestration '\(id)' is invalid: apply it again", details: issues.items.map(\.description))
        }
    }

    /// The tasks a run would execute.
    public static func plan(store: Store, projectId: String, id: String, only: [String], exclude: [String]) async throws -> (OrchestrationDefinition, Set<String>) {
        let definition = try await definition(store: store, projectId: projectId, id: id)
        switch definition.selectTasks(only: only, exclude: exclude) {
        case .success(let selected): return (definition, selected)
        case .failure(let issues):
            throw BatonError(.invalidInput, "cannot run orchestration '\(id)' with that selection", field: issues.items.first?.field, details: issues.items.map(\.description))
        }
    }

    /// Creates a run of `id` (its parent job) with a snapshot of the definition.
    public static func run(store: Store, projectId: String, id: String, only: [String], exclude: [String], previousJobId: Int64? = nil) async throws -> Job {
        let (definition, selected) = try await plan(store: store, projectId: projectId, id: id, only: only, exclude: exclude)
        let ordered = definition.tasks.map(\.id).filter(selected.contains)
        return try await store.createRun(projectId: projectId, orchestrationId: id, definition: definition.json, selected: ordered, previousJobId: previousJobId)
    }

    /// The phases of a run with their tasks and statuses, from its snapshot and its task jobs.
    public static func progress(of parent: Job, children: [Job]) -> RunProgress? {
        guard parent.isOrchestration, case .success(let definition) = OrchestrationDefinition.parse(parent.parameters, configurationExists: { _, _ in true }) else {
            return nil
        }
        var statuses: [String: JobStatus] = [:]
        for child in children { if let task = child.orchestrationTaskId { statuses[task] = child.status } }
        return definition.progress(selected: Set(parent.onlyOrchestrationTaskIds ?? []), children: statuses)
    }
}
