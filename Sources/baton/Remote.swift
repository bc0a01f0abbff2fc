import ArgumentParser
import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import Foundation
import NIOHTTP1

/// Where a command acts: the database (`--database-url`, `DATABASE_URL`) as the operator, or
/// the HTTP API with a project's token (`--api-url` and `--token`, or `BATON_API_URL` and
/// `BATON_TOKEN`) with that token's scopes. A flag wins over the environment; the API wins
/// over `DATABASE_URL` when both are only in the environment.
struct ClientOptions: ParsableArguments {
    @OptionGroup var db: DatabaseOptions

    @Option(name: .customLong("api-url"), help: "Act through the HTTP API at this URL instead of the database, e.g. http://127.0.0.1:8420 (default: $BATON_API_URL).")
    var apiURL: String?

    @Option(help: "The API token to act with: its project and scope (default: $BATON_TOKEN; prefer it: a command line is readable by every user). 'baton tokens create' prints one.")
    var token: String?

    /// The API client when the command goes through the API, nil when it goes to the database.
    func apiClient() throws -> APIClient? {
        let environment = ProcessInfo.processInfo.environment
        func given(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
        if given(db.databaseURL) != nil {
            if given(apiURL) != nil { throw ValidationError("give --database-url or --api-url, not both") }
            return nil
        }
        guard let url = given(apiURL) ?? given(environment["BATON_API_URL"]) else {
            if given(token) != nil { throw ValidationError("--token goes with --api-url (or BATON_API_URL): the API's address, e.g. http://127.0.0.1:8420") }
            return nil
        }
        guard let token = given(token) ?? given(environment["BATON_TOKEN"]) else {
            throw ValidationError("the API at \(url) needs a token: pass --token or set BATON_TOKEN ('baton tokens create --project P --scope admin' prints one)")
        }
        do { return try APIClient(baseURL: url, token: token) } catch let error as BatonError { throw ValidationError(error.message) }
    }

    func validate() throws { _ = try apiClient() }

    /// Runs `direct` with a store, or `remote` with the API client; errors become messages and exit codes.
    func run<T: Sendable>(_ label: String, direct: @Sendable (Store) async throws -> T,
                          remote: @Sendable (APIClient) async throws -> T) async throws -> T {
        if let client = try apiClient() {
            return try await reportingErrors { try await remote(client) }
        }
        return try await db.withStore(label, direct)
    }
}

/// A client of Baton's HTTP API (openapi.yaml) for the CLI. Each API operation the CLI uses is a
/// small method in the extension below, named after the operation; they all go through `call`,
/// which turns the API's errors into `BatonError`s a person can act on.
struct APIClient: Sendable {
    let baseURL: String
    let token: String
    let http: OutboundHTTP
    /// Bodies larger than this are cut (the API pages its lists well below it).
    static let maxResponseBytes = 64 << 20

    init(baseURL: String, token: String) throws {
        let trimmed = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty, url.query == nil else {
            throw BatonError(.invalidInput, "--api-url must be an http:// or https:// address such as http://127.0.0.1:8420, got '\(baseURL)'", field: "api-url")
        }
        self.baseURL = trimmed
        self.token = token
        // The operator chose this address: the outbound policy (which keeps jobs off internal
        // addresses) allows it by name, and only it; a redirect elsewhere loses the token.
        let allowed = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.http = OutboundHTTP(policy: try OutboundPolicy(allowing: [allowed]))
    }

    /// `method path?query` with a JSON body; returns the JSON answer (null for an empty body).
    func call(_ method: HTTPMethod, _ path: String, query: [(String, String?)] = [], body: JSONValue? = nil) async throws -> JSONValue {
        var components = URLComponents()
        components.queryItems = query.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
        let queryText = components.percentEncodedQuery.map { $0.isEmpty ? "" : "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? ""
        var headers = [("Authorization", "Bearer \(token)"), ("Accept", "application/json"), ("User-Agent", "baton-cli/\(batonVersion)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        var response: OutboundHTTP.Response?
        // A request that changes nothing twice (GET, PUT, DELETE) is tried again when the
        // connection broke off mid-exchange (a busy server closed it); a POST is not.
        let attempts = method == .POST ? 1 : 3
        for attempt in 1...attempts {
            do {
                response = try await http.send(method, url: baseURL + path + queryText, headers: headers, body: body.map { Data($0.jsonText.utf8) },
                                               limit: Self.maxResponseBytes, timeout: .seconds(60))
                break
            } catch let failure as OutboundHTTP.Failure {
                throw BatonError(.unavailable, "the API at \(baseURL) is unreachable: \(failure.description). Is 'baton api' running there, and is --api-url (or BATON_API_URL) right?")
            } catch {
                guard attempt < attempts else {
                    throw BatonError(.unavailable, "the exchange with the API at \(baseURL) broke off (\(method.rawValue) \(path): \(error))\(method == .POST ? "; it may have been done: check before trying again" : "")")
                }
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        guard let response else { throw BatonError(.unavailable, "no answer from the API at \(baseURL)") }
        let text = String(decoding: response.body, as: UTF8.self)
        let json = text.isEmpty ? JSONValue.null : try? JSONValue.parse(text)
        guard (200..<300).contains(response.status) else {
            throw error(status: response.status, method: method, path: path, answer: json)
        }
        guard let json else {
            throw BatonError(.unavailable, "the API at \(baseURL) answered \(method.rawValue) \(path) with something that is not JSON: is --api-url the address of 'baton api'?")
        }
        return json
    }

    /// The API's error `{error, code, field?, details?}` as a `BatonError`; 401 and 403 say what to do.
    func error(status: Int, method: HTTPMethod, path: String, answer: JSONValue?) -> BatonError {
        let message = answer?["error"]?.stringValue ?? "HTTP \(status)"
        let field = answer?["field"]?.stringValue
        let details = answer?["details"]?.arrayValue?.compactMap(\.stringValue) ?? []
        switch status {
        case 401:
            return BatonError(.unauthorized, "the API refused the token (401): \(message). Check --token or BATON_TOKEN: 'baton tokens list' shows which are active.", field: "token")
        case 403:
            let needed = APIClient.route(method, path).map { route in
                route.scope == .admin ? "an admin token of the project" : "a read or admin token of the project"
            } ?? "a token with more rights"
            return BatonError(.forbidden, "the token may not \(method.rawValue) \(path) (403: \(message)): this needs \(needed) ('baton tokens create --scope admin').", field: "token")
        default:
            let code: BatonError.Code = switch status {
            case 400: .invalidInput
            case 404: .notFound
            case 409: .conflict
            case 413: .tooLarge
            case 503: .unavailable
            default: .internal
            }
            // The API names its fields (configData); the CLI's flag for it is named where they differ.
            let flag = field.flatMap { APIClient.flags[$0] }
            return BatonError(code, flag.map { "\($0): \(message)" } ?? message, field: field, details: details)
        }
    }

    /// The route of `API.routes` that answers `method path` (the path's ids matched to `{...}`).
    static func route(_ method: HTTPMethod, _ path: String) -> API.Route? {
        let parts = path.split(separator: "/")
        return API.routes.first { route in
            guard route.method.rawValue == method.rawValue else { return false }
            let pattern = route.path.split(separator: "/")
            return pattern.count == parts.count && zip(pattern, parts).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }
    }

    /// The CLI's flag for an API field, where the names differ.
    static let flags = ["configData": "--config-data", "timeoutSeconds": "--timeout", "retryDelaySeconds": "--retry-delay",
                        "excludeTasks": "--exclude-task", "tasks": "--task", "excludeTask": "--exclude-task", "task": "--task"]

    /// A path segment, percent-encoded.
    static func segment(_ value: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove("/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

/// The API operations the CLI uses, one method each (openapi.yaml names them by path).
extension APIClient {
    func createJob(_ request: JobRequest) async throws -> Job {
        var body: [String: JSONValue] = ["component": .string(request.componentId), "config": .string(request.configId), "mode": .string(request.mode),
                                         "retries": .number(Double(request.retries)), "retryDelaySeconds": .number(request.retryDelaySeconds)]
        if let configData = request.configData { body["configData"] = configData }
        if let timeout = request.timeoutSeconds { body["timeoutSeconds"] = .number(timeout) }
        return try Job(json: try await call(.POST, "/v1/jobs", body: .object(body)))
    }

    func job(id: Int64) async throws -> Job {
        try Job(json: try await call(.GET, "/v1/jobs/\(id)"))
    }

    /// `GET /v1/jobs` with the API's filters (the token's project).
    func jobs(statuses: [JobStatus] = [], componentId: String? = nil, configId: String? = nil, parentRunId: String? = nil,
              limit: Int = 100, offset: Int = 0) async throws -> [Job] {
        var query: [(String, String?)] = statuses.map { ("status", $0.rawValue) }
        query += [("component", componentId), ("config", configId), ("parentRunId", parentRunId), ("limit", String(limit)), ("offset", String(offset))]
        return try (try await call(.GET, "/v1/jobs", query: query).arrayValue ?? []).map(Job.init(json:))
    }

    /// A run's task jobs (every page).
    func children(of run: Job) async throws -> [Job] {
        var all: [Job] = []
        while true {
            let page = try await jobs(parentRunId: run.runId, limit: API.maxPageSize, offset: all.count)
            all += page
            if page.count < API.maxPageSize { return all.sorted { $0.id < $1.id } }
        }
    }

    func killJob(id: Int64) async throws -> Job {
        try Job(json: try await call(.POST, "/v1/jobs/\(id)/kill"))
    }

    func events(jobId: Int64, after: Int64 = 0, limit: Int = 1000) async throws -> [JobEvent] {
        let rows = try await call(.GET, "/v1/jobs/\(jobId)/events", query: [("after", String(after)), ("limit", String(limit))]).arrayValue ?? []
        return try rows.map(JobEvent.init(json:))
    }

    func retryPlan(jobId: Int64) async throws -> JSONValue {
        try await call(.GET, "/v1/jobs/\(jobId)/retry-plan")
    }

    func retry(jobId: Int64, only: [String]) async throws -> Job {
        try Job(json: try await call(.POST, "/v1/jobs/\(jobId)/retry", body: only.isEmpty ? [:] : ["tasks": .array(only.map { .string($0) })]))
    }

    func runOrchestration(_ id: String, only: [String], exclude: [String]) async throws -> Job {
        var body: [String: JSONValue] = [:]
        if !only.isEmpty { body["tasks"] = .array(only.map { .string($0) }) }
        if !exclude.isEmpty { body["excludeTasks"] = .array(exclude.map { .string($0) }) }
        return try Job(json: try await call(.POST, "/v1/orchestrations/\(Self.segment(id))/jobs", body: .object(body)))
    }

    func plan(_ id: String, only: [String], exclude: [String]) async throws -> JSONValue {
        try await call(.GET, "/v1/orchestrations/\(Self.segment(id))/plan",
                       query: only.map { ("task", $0) } + exclude.map { ("excludeTask", $0) })
    }

    func orchestrations() async throws -> [JSONValue] { try await call(.GET, "/v1/orchestrations").arrayValue ?? [] }
    func orchestration(_ id: String) async throws -> JSONValue? { try await optional { try await call(.GET, "/v1/orchestrations/\(Self.segment(id))") } }
    func putOrchestration(_ id: String, _ body: JSONValue) async throws -> JSONValue { try await call(.PUT, "/v1/orchestrations/\(Self.segment(id))", body: body) }

    func components() async throws -> [JSONValue] { try await call(.GET, "/v1/components").arrayValue ?? [] }
    func component(_ id: String) async throws -> JSONValue? { try await optional { try await call(.GET, "/v1/components/\(Self.segment(id))") } }
    func putComponent(_ id: String, _ body: JSONValue) async throws -> JSONValue { try await call(.PUT, "/v1/components/\(Self.segment(id))", body: body) }

    func configurations(componentId: String) async throws -> [JSONValue] {
        try await call(.GET, "/v1/components/\(Self.segment(componentId))/configurations").arrayValue ?? []
    }
    func configuration(componentId: String, id: String) async throws -> JSONValue? {
        try await optional { try await call(.GET, "/v1/components/\(Self.segment(componentId))/configurations/\(Self.segment(id))") }
    }
    func putConfiguration(componentId: String, id: String, _ body: JSONValue) async throws -> JSONValue {
        try await call(.PUT, "/v1/components/\(Self.segment(componentId))/configurations/\(Self.segment(id))", body: body)
    }

    func schedules() async throws -> [JSONValue] { try await call(.GET, "/v1/schedules").arrayValue ?? [] }
    func notifications(jobId: Int64) async throws -> [JSONValue] { try await call(.GET, "/v1/jobs/\(jobId)/notifications").arrayValue ?? [] }

    func tokens() async throws -> [JSONValue] { try await call(.GET, "/v1/tokens").arrayValue ?? [] }
    func verifyToken() async throws -> JSONValue { try await call(.GET, "/v1/tokens/verify") }
    func createToken(scope: String, description: String, ownerEmail: String?, expiresIn: Double?) async throws -> JSONValue {
        var body: [String: JSONValue] = ["scope": .string(scope), "description": .string(description)]
        if let ownerEmail { body["ownerEmail"] = .string(ownerEmail) }
        if let expiresIn { body["expiresIn"] = .number(expiresIn.rounded()) }
        return try await call(.POST, "/v1/tokens", body: .object(body))
    }
    func revokeToken(id: Int64) async throws -> JSONValue { try await call(.DELETE, "/v1/tokens/\(id)") }

    /// nil for a 404.
    func optional(_ body: () async throws -> JSONValue) async throws -> JSONValue? {
        do { return try await body() } catch let error as BatonError where error.code == .notFound { return nil }
    }

    /// The token's project (every remote command acts in it).
    func project() async throws -> String {
        guard let project = try await verifyToken()["projectId"]?.stringValue else {
            throw BatonError(.unavailable, "the API at \(baseURL) did not say which project the token belongs to")
        }
        return project
    }

    /// Refuses a `--project` other than the token's: a token acts for its project only.
    func checkProject(_ requested: String?) async throws {
        guard let requested else { return }
        let project = try await project()
        guard requested == project else {
            throw BatonError(.invalidInput, "this token acts for project '\(project)', not '\(requested)': drop --project or use a token of '\(requested)'", field: "project")
        }
    }
}

/// Polls the API until the job is final (100 ms rising to 1 s).
func waitForJob(_ api: APIClient, id: Int64) async throws -> Job {
    var delay = 100
    while true {
        let job = try await api.job(id: id)
        if job.status.isFinal { return job }
        try await Task.sleep(for: .milliseconds(delay))
        delay = min(delay * 2, 1000)
    }
}
