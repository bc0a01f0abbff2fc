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
        var filter = try jobFilter(call.token, FilterSource(call))
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
        return json(.ok, .array(try await store.jobs(filter).map(\.json)))
    }

    /// `GET /v1/jobs/counts`: how many jobs match the search in each status (its status filter
    /// aside), for the jobs page's tabs.
    func countJobs(_ call: Call) async throws -> Response {
        let counts = try await store.jobCounts(try jobFilter(call.token, FilterSource(call)))
        var object: [String: JSONValue] = [:]
        for status in JobStatus.allCases { object[status.rawValue] = .number(Double(counts[status] ?? 0)) }
        object["total"] = .number(Double(counts.values.reduce(0, +)))
        return json(.ok, .object(object))
    }

    /// `POST /v1/jobs/kill`: kills every unfinished job matching the filter in the body (not just
    /// a page), at most `limit` (default 1,000, at most 10,000) in one transaction; `remaining`
    /// says how many matching jobs a further call would kill.
    func killMatching(_ call: Call) async throws -> Response {
        let source = try FilterSource(body: call.bodyObject())
        var filter = try jobFilter(call.token, source)
        guard source.narrows else {
            throw BatonError(.invalidInput, "give at least one filter (status, component, config, orchestration, initializedBy, q, ids, createdTimeFrom, createdTimeTo): an empty filter would kill every job of the project", field: "body")
        }
        filter.limit = try source.integer("limit", default: 1000, range: 1...10_000)
        let (killed, remaining) = try await store.killJobs(filter, max: filter.limit)
        return json(.ok, ["killed": .number(Double(killed.count)), "remaining": .number(Double(remaining)),
                          "jobs": .array(killed.map { ["id": .string(String($0.id)), "status": .string($0.status.rawValue)] })])
    }

    /// `POST /v1/jobs/retry`: retries the failed runs and plain jobs (no task jobs) matching the
    /// filter that were not retried yet, oldest first, at most `limit` (default and most 100) a
    /// call; each retry is a job of its own, like `POST /v1/jobs/{id}/retry` with its default selection.
    func retryMatching(_ call: Call) async throws -> Response {
        let source = try FilterSource(body: call.bodyObject())
        let filter = try jobFilter(call.token, source)
        let (retried, remaining) = try await retryFailed(filter, limit: try source.integer("limit", default: 100, range: 1...100),
                                                        tokenId: call.token.id, initializedBy: "api")
        return json(.ok, ["retried": .number(Double(retried.count)), "remaining": .number(Double(remaining)),
                          "jobs": .array(retried.map { ["previousJobId": .string(String($0.from)), "id": .string(String($0.to))] })])
    }

    /// Retries the failed roots matching `filter` (`Orchestrations.retryFailed`, which the CLI uses too).
    func retryFailed(_ filter: JobFilter, limit: Int, tokenId: Int64, initializedBy: String) async throws -> (retried: [(from: Int64, to: Int64)], remaining: Int) {
        try await Orchestrations.retryFailed(store: store, filter: filter, limit: limit, tokenId: tokenId, initializedBy: initializedBy)
    }

    /// The job filter of a search, its counts and the bulk actions, from query parameters or a
    /// JSON body (the same names); a trigger token's filter is its orchestration's runs.
    func jobFilter(_ token: Token, _ source: FilterSource) throws -> JobFilter {
        var filter = JobFilter(projectId: token.projectId)
        for status in try source.all("status") {
            guard let parsed = JobStatus(rawValue: status) else {
                throw BatonError(.invalidInput, "unknown status '\(status)'; one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))", field: "status")
            }
            if !filter.statuses.contains(parsed) { filter.statuses.append(parsed) }
        }
        filter.componentId = try source.one("component") ?? source.one("componentId")
        filter.configId = try source.one("config") ?? source.one("configId")
        filter.parentRunId = try source.one("parentRunId")
        filter.orchestrationId = try source.one("orchestration")
        if let by = try source.one("initializedBy") {
            guard ["manual", "schedule", "api"].contains(by) else {
                throw BatonError(.invalidInput, "initializedBy must be manual, schedule or api", field: "initializedBy")
            }
            filter.initializedBy = by
        }
        if let q = try source.one("q") {
            guard !q.isEmpty, q.count <= 200, q.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else {
                throw BatonError(.invalidInput, "q is a job id or run id, such as 1234 or 1200.1234", field: "q")
            }
            filter.run = q
        }
        let ids = try source.all("ids")
        if !ids.isEmpty {
            filter.ids = try ids.map {
                guard let id = Int64($0), id > 0 else { throw BatonError(.invalidInput, "ids must be positive job ids", field: "ids") }
                return id
            }
        }
        filter.createdFrom = try source.date("createdTimeFrom")
        filter.createdTo = try source.date("createdTimeTo")
        if case .trigger(let orchestrationId) = token.scope { filter.orchestrationId = orchestrationId }
        return filter
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
        let before = call.query("before") == nil ? nil : Int64(try call.integer("before", default: 0, range: 1...Int.max))
        let stream = try call.query("stream").map { text in
            guard let stream = EventStream(rawValue: text) else { throw BatonError(.invalidInput, "stream must be stdout, stderr or system", field: "stream") }
            return stream
        }
        let fromEnd: Bool
        switch call.query("from") ?? "start" {
        case "start": fromEnd = false
        case "end": fromEnd = true
        default: throw BatonError(.invalidInput, "from must be start (the first events) or end (the last ones, a log's tail)", field: "from")
        }
        let limit = try call.integer("limit", default: 1000, range: 1...5000)
        let events = try await store.events(jobId: job.id, after: after, before: before, stream: stream, limit: limit, fromEnd: fromEnd)
        return json(.ok, .array(events.map(\.json)))
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

/// Where a job filter's fields come from: a search's query parameters, or a bulk action's JSON
/// body (the same names; a list field is an array or a comma-separated string).
struct FilterSource {
    private let values: (String) throws -> [String]
    private let present: [String]

    static let filterFields = ["status", "component", "componentId", "config", "configId", "parentRunId", "orchestration",
                               "initializedBy", "q", "ids", "createdTimeFrom", "createdTimeTo"]

    init(_ call: Call) {
        values = { name in call.queryAll(name) }
        present = Self.filterFields.filter { !call.queryAll($0).isEmpty }
    }

    init(body: [String: JSONValue]) throws {
        func strings(_ name: String) throws -> [String] {
            switch body[name] {
            case nil, .null?: return []
            case .string(let text)?: return text.split(separator: ",").map(String.init)
            case .number(let number)? where number == number.rounded() && abs(number) < 9.0e15: return [String(Int64(number))]
            case .array(let items)?:
                return try items.map {
                    switch $0 {
                    case .string(let text): return text
                    case .number(let number) where number == number.rounded() && abs(number) < 9.0e15: return String(Int64(number))
                    default: throw BatonError(.invalidInput, "\(name) must be a string or an array of strings", field: name)
                    }
                }
            default: throw BatonError(.invalidInput, "\(name) must be a string or an array of strings", field: name)
            }
        }
        values = strings
        present = try Self.filterFields.filter { !(try strings($0)).isEmpty }
    }

    /// Whether any filter field was given.
    var narrows: Bool { !present.isEmpty }

    func all(_ name: String) throws -> [String] { try values(name) }

    func one(_ name: String) throws -> String? {
        let found = try values(name)
        guard found.count <= 1 else { throw BatonError(.invalidInput, "give one \(name)", field: name) }
        return found.first
    }

    func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = try one(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw BatonError(.invalidInput, "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return number
    }

    func date(_ name: String) throws -> Date? {
        guard let text = try one(name) else { return nil }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        throw BatonError(.invalidInput, "\(name) must be an ISO 8601 time such as 2026-11-28T10:00:00Z", field: name)
    }
}
