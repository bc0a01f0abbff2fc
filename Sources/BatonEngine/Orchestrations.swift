import BatonModel
import BatonStore
import Foundation

/// Plans, starts and retries orchestration runs (their views are in BatonModel's RunViews.swift).
public enum Orchestrations {
    /// The saved definition of orchestration `id`.
    public static func definition(store: Store, projectId: String, id: String) async throws -> OrchestrationDefinition {
        guard let saved = try await store.configuration(projectId: projectId, componentId: ExecutorSpec.orchestratorComponentId, configId: id) else {
            throw BatonError(.notFound, "unknown orchestration '\(id)' in project '\(projectId)': apply a 'kind: orchestration' document first", field: "orchestration")
        }
        do {
            return try OrchestrationDefinition.snapshot(saved.parameters)
        } catch let error as BatonError {
            throw BatonError(.invalidInput, "orchestration '\(id)' is invalid: apply it again", details: [error.message])
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
    public static func run(store: Store, projectId: String, id: String, only: [String], exclude: [String], previousJobId: Int64? = nil,
                           tokenId: Int64? = nil, initializedBy: String = "manual") async throws -> Job {
        let (definition, selected) = try await plan(store: store, projectId: projectId, id: id, only: only, exclude: exclude)
        let ordered = definition.tasks.map(\.id).filter(selected.contains)
        return try await store.createRun(projectId: projectId, orchestrationId: id, definition: definition.json, selected: ordered, previousJobId: previousJobId, tokenId: tokenId, initializedBy: initializedBy)
    }

    /// The default retry selection of a finished job, task by task (no tasks for a plain job).
    public static func retryPlan(store: Store, jobId: Int64) async throws -> RetryPlanView {
        guard let job = try await store.job(id: jobId) else { throw BatonError(.notFound, "no job \(jobId)", field: "id") }
        guard job.status.isFinal else {
            throw BatonError(.conflict, "job \(jobId) is still \(job.status.rawValue): retry it once it has finished", field: "id")
        }
        return try RetryPlanView(run: job, children: job.isOrchestration ? try await store.children(of: jobId) : [])
    }

    /// Retries the failed roots (plain jobs and runs, not task jobs) matching `filter` that no
    /// job retried yet, oldest first, at most `limit`; each retry is its own job, with the
    /// default selection. Statuses default to error and must be final. Returns the retries and
    /// how many matching jobs are left.
    public static func retryFailed(store: Store, filter: JobFilter, limit: Int, tokenId: Int64? = nil, initializedBy: String = "manual") async throws -> (retried: [(from: Int64, to: Int64)], remaining: Int) {
        var filter = filter
        let final: [JobStatus] = [.error, .warning, .terminated, .cancelled]
        if filter.statuses.isEmpty { filter.statuses = [.error] }
        if let wrong = filter.statuses.first(where: { !final.contains($0) }) {
            throw BatonError(.invalidInput, "only finished jobs can be retried: status '\(wrong.rawValue)' is not one of error, warning, terminated, cancelled", field: "status")
        }
        filter.rootsOnly = true
        filter.notRetried = true
        filter.ascending = true
        filter.limit = limit
        filter.offset = 0
        var retried: [(from: Int64, to: Int64)] = []
        for job in try await store.jobs(filter) {
            let new = try await Orchestrations.retry(store: store, jobId: job.id, only: [], tokenId: tokenId, initializedBy: initializedBy)
            retried.append((job.id, new.id))
        }
        let remaining = try await store.jobCounts(filter).filter { filter.statuses.contains($0.key) }.values.reduce(0, +)
        return (retried, remaining)
    }

    /// Starts a retry of a finished job: for a run, a new run of its definition snapshot with the
    /// default selection (or `only`), recording `previousJobId`; for a plain job, a new job of
    /// the same configuration and configData.
    public static func retry(store: Store, jobId: Int64, only: [String], tokenId: Int64? = nil, initializedBy: String = "manual") async throws -> Job {
        let plan = try await retryPlan(store: store, jobId: jobId)
        let job = plan.run
        guard job.isOrchestration else {
            guard only.isEmpty else { throw BatonError(.invalidInput, "--task applies to orchestration runs only", field: "task") }
            return try await store.createJobs(projectId: job.projectId, componentId: job.componentId, configId: job.configId,
                                              configData: job.configData, mode: job.mode, timeoutSeconds: job.timeoutSeconds,
                                              retries: job.retries, previousJobId: job.id, tokenId: tokenId, initializedBy: initializedBy)[0]
        }
        let selectable = Set(plan.items.filter(\.task.enabled).map(\.task.id))
        let chosen: [String]
        if only.isEmpty {
            chosen = plan.matchedTaskIds
            guard !chosen.isEmpty else {
                throw BatonError(.invalidInput, "run \(jobId) ended \(job.status.rawValue) with nothing failed or left out: name tasks with --task to rerun them", field: "task")
            }
        } else {
            let unknown = only.filter { !selectable.contains($0) }
            guard unknown.isEmpty else {
                throw BatonError(.invalidInput, "unknown or disabled task \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in run \(jobId)", field: "task")
            }
            chosen = plan.items.map(\.task.id).filter(Set(only).contains)
        }
        return try await store.createRun(projectId: job.projectId, orchestrationId: job.configId, definition: job.parameters,
                                         selected: chosen, previousJobId: job.id, tokenId: tokenId, initializedBy: initializedBy)
    }
}
