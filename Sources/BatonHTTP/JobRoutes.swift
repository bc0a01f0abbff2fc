import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Hummingbird

// /v1/jobs: create, search, read, kill, events, retry. One job is answered as its `RunView` (a run
// with its phases and tasks), the same JSON as `baton jobs show --json`; a search lists plain jobs.

extension API {
    func createJob(_ call: Call) async throws -> Response {
        var request = try JobRequest.parse(try call.bodyObject(), projectId: call.token.projectId)
        request.tokenId = call.token.id
        let job = try await store.createJobs(request)[0]
        return json(.created, job.json)
    }

    func searchJobs(_ call: Call) async throws -> Response {
        var filter = JobFilter(projectId: call.token.projectId)
        for status in call.queryAll("status") {
            guard let parsed = JobStatus(rawValue: status) else {
                throw BatonError(.invalidInput, "unknown status '\(status)'; one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))", field: "status")
            }
            filter.statuses.append(parsed)
        }
        filter.componentId = call.query("component") ?? call.query("componentId")
        filter.configId = call.query("config") ?? call.query("configId")
        filter.parentRunId = call.query("parentRunId")
        filter.createdFrom = try call.date("createdTimeFrom")
        filter.createdTo = try call.date("createdTimeTo")
        filter.limit = try call.integer("limit", default: 100, range: 1...API.maxPageSize)
        filter.offset = try call.integer("offset", default: 0, range: 0...Int(Int32.max))
        if let sortBy = call.query("sortBy") {
            guard let key = JobFilter.SortKey(rawValue: sortBy) else {
                throw BatonError(.invalidInput, "sortBy must be one of \(JobFilter.SortKey.allCases.map(\.rawValue).joined(separator: ", "))", field: "sortBy")
            }
            filter.sortBy = key
        }
        switch call.query("sortOrder") ?? "desc" {
        case "asc": filter.ascending = true
        case "desc": filter.ascending = false
        default: throw BatonError(.invalidInput, "sortOrder must be asc or desc", field: "sortOrder")
        }
        if case .trigger(let orchestrationId) = call.token.scope { filter.orchestrationId = orchestrationId }
        return json(.ok, .array(try await store.jobs(filter).map(\.json)))
    }

    func getJob(_ call: Call) async throws -> Response {
        json(.ok, try await runView(try await visibleJob(try call.jobId(), call.token)).json)
    }

    func killJob(_ call: Call) async throws -> Response {
        let job = try await visibleJob(try call.jobId(), call.token)
        _ = try await store.killJob(id: job.id)
        return json(.accepted, try await runView(try await visibleJob(job.id, call.token)).json)
    }

    func jobEvents(_ call: Call) async throws -> Response {
        let job = try await visibleJob(try call.jobId(), call.token)
        let after = Int64(try call.integer("after", default: 0, range: 0...Int.max))
        let limit = try call.integer("limit", default: 1000, range: 1...5000)
        return json(.ok, .array(try await store.events(jobId: job.id, after: after, limit: limit).map(\.json)))
    }

    func retryPlan(_ call: Call) async throws -> Response {
        let job = try await visibleJob(try call.jobId(), call.token)
        return json(.ok, try await Orchestrations.retryPlan(store: store, jobId: job.id).json)
    }

    func retry(_ call: Call) async throws -> Response {
        let job = try await visibleJob(try call.jobId(), call.token)
        let new = try await Orchestrations.retry(store: store, jobId: job.id, only: try call.taskIds("tasks"), tokenId: call.token.id, initializedBy: "api")
        return json(.created, try await runView(new).json)
    }

    /// The job with, for a run, its task jobs.
    func runView(_ job: Job) async throws -> RunView {
        RunView(run: job, children: job.isOrchestration ? try await store.children(of: job.id) : [])
    }
}
