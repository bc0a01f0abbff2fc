import ArgumentParser
import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import Foundation

/// The job filter of `jobs kill` and `jobs retry` without an id: the fields of the API's
/// `POST /v1/jobs/kill` and `POST /v1/jobs/retry` (and its search), as flags.
struct BulkFilterOptions: ParsableArguments {
    @Option(help: "Project id (direct mode; default: every project; through the API: the token's project). Not a filter by itself.") var project: String?
    @Option(help: "Only jobs in this status (repeatable).") var status: [String] = []
    @Option(help: "Only jobs of this component.") var component: String?
    @Option(help: "Only jobs of this configuration.") var config: String?
    @Option(help: "Only runs of this orchestration and their task jobs.") var orchestration: String?
    @Option(help: "Only jobs started so: manual, schedule or api.") var initializedBy: String?
    @Option(help: "A job id or run id: that job and, for a run id, the jobs under it.") var q: String?
    @Option(help: "Only jobs created at or after this time (ISO 8601, e.g. 2026-11-29T12:00:00Z).") var createdTimeFrom: String?
    @Option(help: "Only jobs created before this time (ISO 8601).") var createdTimeTo: String?

    /// Whether any filter flag was given (--project alone is not one, as the API's token project is not).
    var narrows: Bool {
        !status.isEmpty || component != nil || config != nil || orchestration != nil || initializedBy != nil || q != nil
            || createdTimeFrom != nil || createdTimeTo != nil
    }

    static let flagList = "--status, --component, --config, --orchestration, --initialized-by, --q, --created-time-from, --created-time-to"

    func statuses() throws -> [JobStatus] {
        try status.map { text in
            guard let parsed = JobStatus(rawValue: text) else {
                throw ValidationError("--status: unknown status '\(text)'; use one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return parsed
        }
    }

    func validate() throws {
        _ = try statuses()
        if let initializedBy, !["manual", "schedule", "api"].contains(initializedBy) {
            throw ValidationError("--initialized-by must be manual, schedule or api, got '\(initializedBy)'")
        }
        if let q, q.isEmpty || q.count > 200 || !q.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) {
            throw ValidationError("--q is a job id or run id, such as 1234 or 1200.1234, got '\(q)'")
        }
        for (flag, value) in [("--created-time-from", createdTimeFrom), ("--created-time-to", createdTimeTo)] {
            if let value, Job.parseTime(value) == nil {
                throw ValidationError("\(flag) must be an ISO 8601 time such as 2026-11-29T12:00:00Z, got '\(value)'")
            }
        }
    }

    /// The store's filter (direct mode).
    func filter() throws -> JobFilter {
        var filter = JobFilter(projectId: project, statuses: try statuses(), componentId: component, configId: config)
        filter.orchestrationId = orchestration
        filter.initializedBy = initializedBy
        filter.run = q
        filter.createdFrom = createdTimeFrom.flatMap(Job.parseTime)
        filter.createdTo = createdTimeTo.flatMap(Job.parseTime)
        return filter
    }

    /// The API's filter fields (a JSON body of the bulk operations, the query of `/v1/jobs/counts`).
    var apiFields: [(String, [String])] {
        [("status", status), ("component", component.map { [$0] } ?? []), ("config", config.map { [$0] } ?? []),
         ("orchestration", orchestration.map { [$0] } ?? []), ("initializedBy", initializedBy.map { [$0] } ?? []), ("q", q.map { [$0] } ?? []),
         ("createdTimeFrom", createdTimeFrom.map { [$0] } ?? []), ("createdTimeTo", createdTimeTo.map { [$0] } ?? [])]
            .filter { !$0.1.isEmpty }
    }

    /// A one-line description of the filter, for the confirmation and the errors.
    var summary: String {
        ((project.map { ["project \($0)"] } ?? []) + apiFields.map { "\($0.0) \($0.1.joined(separator: ","))" }).joined(separator: ", ")
    }
}

/// `baton jobs kill` with a filter: kills every unfinished matching job (at most --limit), as
/// `POST /v1/jobs/kill` does.
func killMatching(client: ClientOptions, filter options: BulkFilterOptions, limit: Int, yes: Bool) async throws {
    guard options.narrows else {
        throw ValidationError("give a job id, or at least one filter (\(BulkFilterOptions.flagList)): an empty filter would kill every job")
    }
    guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000 (as the API; run again for the rest)") }
    let filter = try options.filter()
    let project = options.project
    let unfinished: [JobStatus] = [.created, .waiting, .processing, .terminating]
    let statuses = filter.statuses.isEmpty ? unfinished : filter.statuses.filter(unfinished.contains)
    if !yes {
        guard isatty(STDIN_FILENO) == 1 else {
            throw ValidationError("--yes is needed to kill jobs by filter when there is no terminal to ask (matching: \(options.summary))")
        }
        let counts = try await client.run("baton.jobs", direct: { try await $0.jobCounts(filter) }, remote: { api in
            try await api.checkProject(project)
            return try await api.jobCounts(options.apiFields)
        })
        let matching = statuses.map { counts[$0] ?? 0 }.reduce(0, +)
        guard matching > 0 else { print("no unfinished job matches (\(options.summary))"); return }
        print("kill \(min(matching, limit)) of \(matching) unfinished job\(matching == 1 ? "" : "s") matching \(options.summary)? [y/N] ", terminator: "")
        guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else { print("nothing killed"); return }
    }
    let fields = options.apiFields
    let (killed, remaining) = try await client.run("baton.jobs", direct: { store -> ([(id: Int64, status: JobStatus)], Int) in
        try await store.killJobs(filter, max: limit)
    }, remote: { api in
        try await api.checkProject(project)
        return try await api.killJobs(fields, limit: limit)
    })
    let cancelled = killed.filter { $0.status == .cancelled }.count
    print("killed \(killed.count) job\(killed.count == 1 ? "" : "s") (\(cancelled) cancelled, \(killed.count - cancelled) terminating); \(remaining) matching job\(remaining == 1 ? "" : "s") remain\(remaining == 1 ? "s" : "")\(remaining > 0 ? " (run the command again to kill \(remaining == 1 ? "it" : "them"))" : "")")
}

/// `baton jobs retry` with a filter: retries the failed runs and plain jobs matching it that were
/// not retried yet (at most --limit), as `POST /v1/jobs/retry` does.
func retryMatching(client: ClientOptions, filter options: BulkFilterOptions, limit: Int) async throws {
    guard options.narrows else {
        throw ValidationError("give a job id, or at least one filter (\(BulkFilterOptions.flagList)), e.g. --status error")
    }
    guard (1...100).contains(limit) else { throw ValidationError("--limit must be from 1 to 100 (as the API; run again for the rest)") }
    let filter = try options.filter()
    let (project, fields) = (options.project, options.apiFields)
    let (retried, remaining) = try await client.run("baton.jobs", direct: { store -> ([(from: Int64, to: Int64)], Int) in
        try await Orchestrations.retryFailed(store: store, filter: filter, limit: limit)
    }, remote: { api in
        try await api.checkProject(project)
        return try await api.retryJobs(fields, limit: limit)
    })
    for pair in retried { print("job \(pair.from) -> retry job \(pair.to)") }
    print("retried \(retried.count) job\(retried.count == 1 ? "" : "s"); \(remaining) matching job\(remaining == 1 ? "" : "s") not retried yet\(remaining > 0 ? " (run the command again for \(remaining == 1 ? "it" : "them"))" : "")")
}

extension APIClient {
    static func body(_ fields: [(String, [String])], limit: Int) -> JSONValue {
        var body: [String: JSONValue] = ["limit": .number(Double(limit))]
        for (name, values) in fields { body[name] = .array(values.map { .string($0) }) }
        return .object(body)
    }

    /// `POST /v1/jobs/kill`.
    func killJobs(_ fields: [(String, [String])], limit: Int) async throws -> (killed: [(id: Int64, status: JobStatus)], remaining: Int) {
        let answer = try await call(.POST, "/v1/jobs/kill", body: Self.body(fields, limit: limit))
        let killed = (answer["jobs"]?.arrayValue ?? []).compactMap { row -> (id: Int64, status: JobStatus)? in
            guard let id = row["id"]?.stringValue.flatMap({ Int64($0) }), let status = row["status"]?.stringValue.flatMap(JobStatus.init(rawValue:)) else { return nil }
            return (id, status)
        }
        return (killed, Int(answer["remaining"]?.numberValue ?? 0))
    }

    /// `POST /v1/jobs/retry`.
    func retryJobs(_ fields: [(String, [String])], limit: Int) async throws -> (retried: [(from: Int64, to: Int64)], remaining: Int) {
        let answer = try await call(.POST, "/v1/jobs/retry", body: Self.body(fields, limit: limit))
        let retried = (answer["jobs"]?.arrayValue ?? []).compactMap { row -> (from: Int64, to: Int64)? in
            guard let from = row["previousJobId"]?.stringValue.flatMap({ Int64($0) }), let to = row["id"]?.stringValue.flatMap({ Int64($0) }) else { return nil }
            return (from, to)
        }
        return (retried, Int(answer["remaining"]?.numberValue ?? 0))
    }

    /// `GET /v1/jobs/counts`.
    func jobCounts(_ fields: [(String, [String])]) async throws -> [JobStatus: Int] {
        let answer = try await call(.GET, "/v1/jobs/counts", query: fields.flatMap { name, values in values.map { (name, Optional($0)) } })
        var counts: [JobStatus: Int] = [:]
        for status in JobStatus.allCases { counts[status] = Int(answer[status.rawValue]?.numberValue ?? 0) }
        return counts
    }
}
