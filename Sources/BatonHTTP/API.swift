import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Synchronization

/// The HTTP API (`baton api`): Keboola's Queue API field names under `/v1`, token auth, JSON
/// errors `{error, code, field?}`. Every route is listed in `routes` and described in
/// openapi.yaml (a test checks both directions).
public struct API: Sendable {
    public static let maxBodyBytes = 1_048_576
    public static let maxPageSize = 500

    let store: Store
    let logger: Logger
    let openAPI: String?

    public init(store: Store, logger: Logger, openAPI: String?) {
        self.store = store
        self.logger = logger
        self.openAPI = openAPI
    }

    /// Method and path (OpenAPI style, `{id}`) of every route.
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/openapi.yaml"),
        ("POST", "/v1/jobs"), ("GET", "/v1/jobs"), ("GET", "/v1/jobs/{id}"), ("POST", "/v1/jobs/{id}/kill"),
        ("GET", "/v1/jobs/{id}/events"), ("GET", "/v1/jobs/{id}/retry-plan"), ("POST", "/v1/jobs/{id}/retry"),
        ("GET", "/metrics"), ("GET", "/v1/schedules"), ("GET", "/v1/jobs/{id}/notifications"),
        ("GET", "/v1/orchestrations"), ("GET", "/v1/orchestrations/{id}"), ("PUT", "/v1/orchestrations/{id}"), ("DELETE", "/v1/orchestrations/{id}"),
        ("GET", "/v1/orchestrations/{id}/plan"), ("POST", "/v1/orchestrations/{id}/jobs"),
        ("GET", "/v1/components"), ("GET", "/v1/components/{component}"), ("PUT", "/v1/components/{component}"),
        ("DELETE", "/v1/components/{component}"),
        ("GET", "/v1/components/{component}/configurations"), ("GET", "/v1/components/{component}/configurations/{id}"),
        ("PUT", "/v1/components/{component}/configurations/{id}"), ("DELETE", "/v1/components/{component}/configurations/{id}"),
    ]

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in json(.ok, ["status": "ok"]) }
        router.get("/readyz") { _, _ in
            do {
                _ = try await store.projectIds()
                return json(.ok, ["status": "ready"])
            } catch {
                return json(.serviceUnavailable, ["error": "the database is unreachable", "code": "unavailable"])
            }
        }
        let queueGauges = QueueDepthGauges()
        let databaseUp = Gauge(label: MetricNames.databaseUp)
        router.get("/metrics") { _, _ in
            // The queue depth is read at each scrape; the rest is what this process recorded.
            do {
                queueGauges.update(try await store.queueDepth())
                databaseUp.record(1)
            } catch {
                databaseUp.record(0)
            }
            return Telemetry.response()
        }
        router.get("/openapi.yaml") { _, _ in
            guard let openAPI else { return json(.notFound, ["error": "openapi.yaml was not found next to the binary or in the working directory", "code": "notFound"]) }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: openAPI)))
        }
        route(router, .post, "/v1/jobs", createJob)
        route(router, .get, "/v1/jobs", searchJobs)
        route(router, .get, "/v1/jobs/:id", getJob)
        route(router, .post, "/v1/jobs/:id/kill", killJob)
        route(router, .get, "/v1/jobs/:id/events", jobEvents)
        route(router, .get, "/v1/jobs/:id/retry-plan", retryPlan)
        route(router, .post, "/v1/jobs/:id/retry", retry)
        route(router, .get, "/v1/schedules", listSchedules)
        route(router, .get, "/v1/jobs/:id/notifications", jobNotifications)
        route(router, .get, "/v1/orchestrations", listOrchestrations)
        route(router, .get, "/v1/orchestrations/:id", getOrchestration)
        route(router, .put, "/v1/orchestrations/:id", putOrchestration)
        route(router, .delete, "/v1/orchestrations/:id", deleteOrchestration)
        route(router, .get, "/v1/orchestrations/:id/plan", plan)
        route(router, .post, "/v1/orchestrations/:id/jobs", runOrchestration)
        route(router, .get, "/v1/components", listComponents)
        route(router, .get, "/v1/components/:component", getComponent)
        route(router, .put, "/v1/components/:component", putComponent)
        route(router, .delete, "/v1/components/:component", deleteComponent)
        route(router, .get, "/v1/components/:component/configurations", listConfigurations)
        route(router, .get, "/v1/components/:component/configurations/:id", getConfiguration)
        route(router, .put, "/v1/components/:component/configurations/:id", putConfiguration)
        route(router, .delete, "/v1/components/:component/configurations/:id", deleteConfiguration)
        Console(api: self).add(to: router)
        return router
    }

    // MARK: - plumbing

    struct Call {
        let request: Request
        let parameters: Parameters
        let token: Token
        let body: JSONValue?

        func path(_ name: String) throws -> String {
            guard let value = parameters.get(name) else { throw BatonError(.invalidInput, "missing \(name) in the path", field: name) }
            return value
        }

        func jobId() throws -> Int64 {
            guard let id = Int64(try path("id")), id > 0 else { throw BatonError(.invalidInput, "job id must be a positive integer", field: "id") }
            return id
        }

        func query(_ name: String) -> String? { request.uri.queryParameters[Substring(name)].map(String.init) }
        func queryAll(_ name: String) -> [String] {
            request.uri.queryParameters[values: Substring(name)].flatMap { $0.split(separator: ",").map(String.init) }
        }

        func bodyObject() throws -> [String: JSONValue] {
            guard let body else { return [:] }
            guard case .object(let object) = body else { throw BatonError(.invalidInput, "the request body must be a JSON object", field: "body") }
            return object
        }
    }

    typealias Handler = @Sendable (Call) async throws -> (HTTPResponse.Status, JSONValue)

    private func route(_ router: Router<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: RouterPath, _ handler: @escaping Handler) {
        let api = self
        router.on(path, method: method) { request, context -> Response in
            do {
                // PostgreSQL's text holds no NUL character: refuse it here, as bad input.
                if request.uri.description.contains("%00") || request.uri.description.contains("\u{0}") {
                    throw BatonError(.invalidInput, "the URL may not contain the NUL character (%00)", field: "url")
                }
                let token = try await api.authenticate(request)
                try api.authorize(token, method: method, path: context.endpointPath ?? request.uri.path, parameters: context.parameters)
                var body: JSONValue? = nil
                if method == .post || method == .put {
                    let buffer = try await request.body.collect(upTo: API.maxBodyBytes)
                    let text = String(buffer: buffer)
                    if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                        do { body = try JSONValue.parse(text) } catch {
                            throw BatonError(.invalidInput, "the request body is not valid JSON", field: "body")
                        }
                        if let body, containsNUL(body) {
                            throw BatonError(.invalidInput, "strings in the body may not contain the NUL character (\\u0000)", field: "body")
                        }
                    }
                }
                let (status, value) = try await handler(Call(request: request, parameters: context.parameters, token: token, body: body))
                Counter(label: MetricNames.apiRequests, dimensions: [("code", String(status.code))]).increment()
                return json(status, value)
            } catch let error as BatonError {
                return api.errorResponse(error)
            } catch is NIOTooManyBytesError {
                return json(.contentTooLarge, ["error": .string("the request body is larger than \(API.maxBodyBytes) bytes"), "code": "tooLarge", "field": "body"])
            } catch let error as HTTPError {
                return json(error.status, ["error": .string(error.body ?? error.status.reasonPhrase), "code": "invalidInput"])
            } catch {
                // Never leak database text to the caller; the log has it.
                api.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error).prefix(500))"])
                return json(.internalServerError, ["error": "internal error; the server log has the details", "code": "internal"])
            }
        }
    }

    func errorResponse(_ error: BatonError) -> Response {
        let response = errorResponseBody(error)
        Counter(label: MetricNames.apiRequests, dimensions: [("code", String(response.status.code))]).increment()
        return response
    }

    func errorResponseBody(_ error: BatonError) -> Response {
        let status: HTTPResponse.Status = switch error.code {
        case .invalidInput: .badRequest
        case .notFound: .notFound
        case .conflict: .conflict
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        default: .serviceUnavailable
        }
        var body: [String: JSONValue] = ["error": .string(error.message), "code": .string(error.code.rawValue)]
        if let field = error.field { body["field"] = .string(field) }
        if !error.details.isEmpty { body["details"] = .array(error.details.map { .string($0) }) }
        return json(status, .object(body))
    }

    /// `Authorization: Bearer TOKEN` or `X-StorageApi-Token: TOKEN`.
    func authenticate(_ request: Request) async throws -> Token {
        var secret: String?
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { secret = String(parts[1]).trimmingCharacters(in: .whitespaces) }
        }
        if secret == nil, let field = request.headers.first(where: { $0.name.canonicalName == "x-storageapi-token" }) { secret = field.value }
        guard let secret, !secret.isEmpty else {
            throw BatonError(.unauthorized, "no token: send 'Authorization: Bearer TOKEN' (make one with 'baton tokens create')", field: "Authorization")
        }
        guard secret.count <= 200, let token = try await store.token(secret: secret) else {
            throw BatonError(.unauthorized, "unknown token", field: "Authorization")
        }
        return token
    }

    /// What each scope may do. Project isolation is in every handler (queries by the token's project).
    func authorize(_ token: Token, method: HTTPRequest.Method, path: String, parameters: Parameters) throws {
        switch token.scope {
        case .admin:
            return
        case .read:
            guard method == .get else { throw BatonError(.forbidden, "a read token can only read (GET)", field: "Authorization") }
        case .trigger(let orchestrationId):
            let own = parameters.get("id") == orchestrationId
            let allowed = (method == .post && path.hasSuffix("/orchestrations/{id}/jobs") && own)
                || (method == .get && path.hasSuffix("/orchestrations/{id}/plan") && own)
                || (method == .get && path.hasSuffix("/orchestrations/{id}") && own)
                || (method == .get && (path.hasSuffix("/jobs/{id}") || path.hasSuffix("/jobs/{id}/events") || path.hasSuffix("/jobs")))
                || (method == .get && path.hasSuffix("/orchestrations"))
            guard allowed else {
                throw BatonError(.forbidden, "this token may only run orchestration '\(orchestrationId)' and read its runs", field: "Authorization")
            }
        case .orchestration:
            throw BatonError(.forbidden, "an orchestration's own token is not for API calls", field: "Authorization")
        }
    }

    /// The job, if this token may see it (404 otherwise, the same as a job that does not exist).
    func visibleJob(_ id: Int64, _ token: Token) async throws -> Job {
        guard let job = try await store.job(id: id), job.projectId == token.projectId else {
            throw BatonError(.notFound, "no job \(id)", field: "id")
        }
        if case .trigger(let orchestrationId) = token.scope {
            let runConfig: String?
            if job.isOrchestration { runConfig = job.configId }
            else if let parent = job.orchestrationJobId { runConfig = try await store.job(id: parent)?.configId }
            else { runConfig = nil }
            guard runConfig == orchestrationId else { throw BatonError(.notFound, "no job \(id)", field: "id") }
        }
        return job
    }

    // MARK: - jobs

    func createJob(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let body = try call.bodyObject()
        guard case .string(let component)? = body["component"], !component.isEmpty else {
            throw BatonError(.invalidInput, "component is required (a component id)", field: "component")
        }
        guard case .string(let config)? = body["config"], !config.isEmpty else {
            throw BatonError(.invalidInput, "config is required (a configuration id of the component)", field: "config")
        }
        var mode = "run"
        if let value = body["mode"] {
            guard case .string(let text) = value else { throw BatonError(.invalidInput, "mode must be a string: run, debug or forceRun", field: "mode") }
            mode = text
        }
        let configData = body["configData"]
        if let configData, case .object = configData {} else if configData != nil, configData != .null {
            throw BatonError(.invalidInput, "configData must be an object", field: "configData")
        }
        guard component != ExecutorSpec.orchestratorComponentId else {
            throw BatonError(.invalidInput, "'\(config)' is an orchestration: run it with POST /v1/orchestrations/\(config)/jobs", field: "component")
        }
        let job = try await store.createJobs(projectId: call.token.projectId, componentId: component, configId: config,
                                             configData: configData == .null ? nil : configData, mode: mode, tokenId: call.token.id,
                                             initializedBy: "api")[0]
        return (.created, job.json)
    }

    func searchJobs(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
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
        filter.createdFrom = try date(call.query("createdTimeFrom"), field: "createdTimeFrom")
        filter.createdTo = try date(call.query("createdTimeTo"), field: "createdTimeTo")
        filter.limit = try integer(call.query("limit"), field: "limit", default: 100, range: 1...API.maxPageSize)
        filter.offset = try integer(call.query("offset"), field: "offset", default: 0, range: 0...Int(Int32.max))
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
        return (.ok, .array(try await store.jobs(filter).map(\.json)))
    }

    func getJob(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        (.ok, try await visibleJob(try call.jobId(), call.token).json)
    }

    func killJob(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let job = try await visibleJob(try call.jobId(), call.token)
        _ = try await store.killJob(id: job.id)
        return (.accepted, try await visibleJob(job.id, call.token).json)
    }

    func jobEvents(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let job = try await visibleJob(try call.jobId(), call.token)
        let after = Int64(try integer(call.query("after"), field: "after", default: 0, range: 0...Int.max))
        let limit = try integer(call.query("limit"), field: "limit", default: 1000, range: 1...5000)
        return (.ok, .array(try await store.events(jobId: job.id, after: after, limit: limit).map(\.json)))
    }

    func retryPlan(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let job = try await visibleJob(try call.jobId(), call.token)
        return (.ok, try await Orchestrations.retryPlan(store: store, jobId: job.id).json)
    }

    func retry(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let job = try await visibleJob(try call.jobId(), call.token)
        let tasks = try strings(try call.bodyObject()["tasks"], field: "tasks")
        return (.created, try await Orchestrations.retry(store: store, jobId: job.id, only: tasks, tokenId: call.token.id, initializedBy: "api").json)
    }

    // MARK: - orchestrations

    func orchestrationJSON(id: String, name: String, definition: OrchestrationDefinition) -> JSONValue {
        guard case .object(var object) = definition.json else { return definition.json }
        object["id"] = .string(id)
        object["name"] = .string(name)
        return .object(object)
    }

    func listSchedules(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let now = Date()
        return (.ok, .array(try await store.schedules(projectId: call.token.projectId).map { $0.json(now: now) }))
    }

    func jobNotifications(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let job = try await visibleJob(try call.jobId(), call.token)
        return (.ok, .array(try await store.notifications(projectId: call.token.projectId, jobId: job.id).map(\.json)))
    }

    func listOrchestrations(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        var out: [JSONValue] = []
        for item in try await store.orchestrations(projectId: call.token.projectId) {
            if case .trigger(let id) = call.token.scope, id != item.id { continue }
            let definition = try? OrchestrationDefinition.parse(item.definition, configurationExists: { _, _ in true }).get()
            out.append(definition.map { orchestrationJSON(id: item.id, name: item.name, definition: $0) } ?? ["id": .string(item.id), "name": .string(item.name)])
        }
        return (.ok, .array(out))
    }

    func getOrchestration(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let id = try call.path("id")
        guard let item = try await store.orchestrations(projectId: call.token.projectId).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no orchestration '\(id)'", field: "id")
        }
        let definition = try await Orchestrations.definition(store: store, projectId: call.token.projectId, id: id)
        return (.ok, orchestrationJSON(id: id, name: item.name, definition: definition))
    }

    func putOrchestration(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let id = try call.path("id")
        var document = try call.bodyObject()
        document["kind"] = "orchestration"
        document["id"] = .string(id)
        document["project"] = .string(call.token.projectId)
        _ = try await Apply.apply([.object(document)], store: store)
        return try await getOrchestration(call)
    }

    func plan(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let id = try call.path("id")
        let (definition, selected) = try await Orchestrations.plan(store: store, projectId: call.token.projectId, id: id,
                                                                    only: call.queryAll("task"), exclude: call.queryAll("excludeTask"))
        return (.ok, PlanView(orchestrationId: id, definition: definition, selected: selected).json)
    }

    func runOrchestration(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let body = try call.bodyObject()
        let job = try await Orchestrations.run(store: store, projectId: call.token.projectId, id: try call.path("id"),
                                               only: try strings(body["tasks"], field: "tasks"),
                                               exclude: try strings(body["excludeTasks"], field: "excludeTasks"), tokenId: call.token.id,
                                               initializedBy: "api")
        return (.created, job.json)
    }

    // MARK: - components and configurations

    func listComponents(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        (.ok, .array(try await store.components(projectId: call.token.projectId).map { ["id": .string($0.id), "executor": $0.executor] }))
    }

    func putComponent(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        var document = try call.bodyObject()
        document["kind"] = "component"
        document["id"] = .string(try call.path("component"))
        document["project"] = .string(call.token.projectId)
        _ = try await Apply.apply([.object(document)], store: store)
        return (.ok, .object(document.filter { $0.key != "kind" }))
    }

    func getComponent(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let id = try call.path("component")
        guard let component = try await store.components(projectId: call.token.projectId).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no component '\(id)'", field: "component")
        }
        return (.ok, ["id": .string(component.id), "executor": component.executor])
    }

    func deleteComponent(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let id = try call.path("component")
        guard try await store.deleteComponent(projectId: call.token.projectId, componentId: id) else {
            throw BatonError(.notFound, "no component '\(id)'", field: "component")
        }
        return (.ok, ["id": .string(id), "deleted": true])
    }

    func getConfiguration(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let component = try call.path("component"), id = try call.path("id")
        guard let configuration = try await store.configurations(projectId: call.token.projectId, componentId: component).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no configuration '\(id)' of component '\(component)'", field: "id")
        }
        return (.ok, ["id": .string(id), "componentId": .string(component), "name": .string(configuration.name), "parameters": configuration.parameters])
    }

    func deleteConfiguration(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let component = try call.path("component"), id = try call.path("id")
        guard component != ExecutorSpec.orchestratorComponentId else {
            throw BatonError(.invalidInput, "'\(id)' is an orchestration: DELETE /v1/orchestrations/\(id)", field: "component")
        }
        guard try await store.deleteConfiguration(projectId: call.token.projectId, componentId: component, configId: id) else {
            throw BatonError(.notFound, "no configuration '\(id)' of component '\(component)'", field: "id")
        }
        return (.ok, ["id": .string(id), "componentId": .string(component), "deleted": true])
    }

    func deleteOrchestration(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let id = try call.path("id")
        guard try await store.deleteConfiguration(projectId: call.token.projectId, componentId: ExecutorSpec.orchestratorComponentId, configId: id) else {
            throw BatonError(.notFound, "no orchestration '\(id)'", field: "id")
        }
        return (.ok, ["id": .string(id), "deleted": true])
    }

    func listConfigurations(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        let component = try call.path("component")
        return (.ok, .array(try await store.configurations(projectId: call.token.projectId, componentId: component).map {
            ["id": .string($0.id), "componentId": .string(component), "name": .string($0.name), "parameters": $0.parameters]
        }))
    }

    func putConfiguration(_ call: Call) async throws -> (HTTPResponse.Status, JSONValue) {
        var document = try call.bodyObject()
        document["kind"] = "configuration"
        document["component"] = .string(try call.path("component"))
        document["id"] = .string(try call.path("id"))
        document["project"] = .string(call.token.projectId)
        _ = try await Apply.apply([.object(document)], store: store)
        return (.ok, .object(document.filter { $0.key != "kind" }))
    }

    // MARK: - input

    func integer(_ text: String?, field: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw BatonError(.invalidInput, "\(field) must be an integer from \(range.lowerBound) to \(range.upperBound)", field: field)
        }
        return number
    }

    func date(_ text: String?, field: String) throws -> Date? {
        guard let text else { return nil }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        throw BatonError(.invalidInput, "\(field) must be an ISO 8601 time such as 2026-11-28T10:00:00Z", field: field)
    }

    func strings(_ value: JSONValue?, field: String) throws -> [String] {
        guard let value, value != .null else { return [] }
        guard case .array(let items) = value else { throw BatonError(.invalidInput, "\(field) must be an array of task ids", field: field) }
        return try items.map {
            switch $0 {
            case .string(let text): return text
            case .number(let number) where number == number.rounded(): return String(Int64(number))
            default: throw BatonError(.invalidInput, "\(field) must be an array of task ids", field: field)
            }
        }
    }
}

/// Whether a string or key anywhere in `value` holds U+0000, which PostgreSQL cannot store.
func containsNUL(_ value: JSONValue) -> Bool {
    switch value {
    case .string(let text): return text.unicodeScalars.contains("\u{0}")
    case .array(let items): return items.contains(where: containsNUL)
    case .object(let object): return object.contains { $0.key.unicodeScalars.contains("\u{0}") || containsNUL($0.value) }
    default: return false
    }
}

func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
    Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
             body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
}
