import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import BatonTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import Yams

/// A `baton api` process on a free port, and a small client for it.
/// Starts `baton api --port 0` with `arguments` and returns it with the address it listens on.
func startAPI(databaseURL: String, arguments: [String] = [], environment: [String: String] = [:]) async throws -> (BatonProcess, String) {
    let started = try BatonProcess(["api", "--port", "0"] + arguments, databaseURL: databaseURL, environment: environment)
    var found: String?
    try await waitUntil(timeout: 30, "baton api to listen") {
        found = started.output.split(separator: "\n").first { $0.hasPrefix("listening on ") }.map { String($0.dropFirst(13)) }
        return found != nil || !started.process.isRunning
    }
    guard let found else { throw BatonError(.environment, "baton api exited: \(started.output)") }
    return (started, found)
}

final class LiveAPI: @unchecked Sendable {
    let process: BatonProcess
    let base: String

    init(databaseURL: String, environment: [String: String] = [:]) async throws {
        (process, base) = try await startAPI(databaseURL: databaseURL, environment: environment)
    }

    deinit { process.stop() }

    struct Reply {
        var status: Int
        var body: JSONValue
        var text: String
        var error: String? { if case .string(let s)? = body["error"] { s } else { nil } }
        var code: String? { if case .string(let s)? = body["code"] { s } else { nil } }
        var field: String? { if case .string(let s)? = body["field"] { s } else { nil } }
    }

    func call(_ method: String, _ path: String, token: String? = nil, header: String = "Authorization",
              body: JSONValue? = nil, rawBody: Data? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let token { request.setValue(header == "Authorization" ? "Bearer \(token)" : token, forHTTPHeaderField: header) }
        if let body { request.httpBody = Data(body.jsonText.utf8) }
        if let rawBody { request.httpBody = rawBody }
        if request.httpBody != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let text = String(decoding: data, as: UTF8.self)
        return Reply(status: (response as! HTTPURLResponse).statusCode, body: (try? JSONValue.parse(text)) ?? .null, text: text)
    }
}

extension JSONValue {
    subscript(_ key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var items: [JSONValue] { if case .array(let a) = self { a } else { [] } }
}

@Suite("HTTP API", .serialized)
struct APITests {
    let logger = TestPostgres.shared.logger

    /// Projects a and b, each with a noop component, a configuration and an orchestration.
    func setUp(_ name: String) async throws -> (url: String, admin: [String: String], tokens: [String: Token]) {
        let url = try await TestPostgres.shared.makeDatabase(name)
        let (secrets, tokens) = try await Store.withStore(url: url, logger: logger) { store -> ([String: String], [String: Token]) in
            var secrets: [String: String] = [:]
            var tokens: [String: Token] = [:]
            for project in ["a", "b"] {
                try await store.createProject(id: project, name: "Project \(project)", maxParallelJobs: 10)
                _ = try await Apply.apply(try Documents.parse("""
                    - {kind: component, project: \(project), id: quick, executor: {type: noop}}
                    - {kind: configuration, project: \(project), component: quick, id: one}
                    - {kind: configuration, project: \(project), component: quick, id: two}
                    - kind: orchestration
                      project: \(project)
                      id: flow
                      name: Flow
                      phases: [{id: 1, name: First}, {id: 2, name: Second}]
                      tasks:
                        - {id: t1, name: T1, phase: 1, task: {componentId: quick, configId: one}}
                        - {id: t2, name: T2, phase: 2, task: {componentId: quick, configId: two}}
                    - kind: orchestration
                      project: \(project)
                      id: other
                      phases: [{id: 1, name: Only}]
                      tasks:
                        - {id: t1, name: T1, phase: 1, task: {componentId: quick, configId: one}}
                    """), store: store)
                for scope in ["admin", "read", "trigger:flow"] {
                    let (token, secret) = try await store.createToken(projectId: project, scope: try TokenScope(parsing: scope), description: "\(project) \(scope)")
                    secrets["\(project) \(scope)"] = secret
                    tokens["\(project) \(scope)"] = token
                }
            }
            return (secrets, tokens)
        }
        return (url, secrets, tokens)
    }

    @Test("no token or an unknown token: 401; Bearer and X-StorageApi-Token both work; health needs none")
    func authentication() async throws {
        let (url, secrets, _) = try await setUp("apiauth")
        let api = try await LiveAPI(databaseURL: url)
        #expect(try await api.call("GET", "/healthz").status == 200)
        #expect(try await api.call("GET", "/readyz").status == 200)
        let none = try await api.call("GET", "/v1/jobs")
        #expect(none.status == 401 && none.code == "unauthorized" && none.field == "Authorization")
        #expect(try await api.call("GET", "/v1/jobs", token: "baton_not-a-real-token").status == 401)
        #expect(try await api.call("GET", "/v1/jobs", token: secrets["a admin"]).status == 200)
        #expect(try await api.call("GET", "/v1/jobs", token: secrets["a admin"], header: "X-StorageApi-Token").status == 200)
    }

    @Test("project a's token reads and runs nothing of project b")
    func isolation() async throws {
        let (url, secrets, _) = try await setUp("apiisolation")
        let api = try await LiveAPI(databaseURL: url)
        let bJob = try await api.call("POST", "/v1/jobs", token: secrets["b admin"], body: ["component": "quick", "config": "one"])
        #expect(bJob.status == 201)
        let bId = bJob.body["id"]!.string!
        let aJob = try await api.call("POST", "/v1/jobs", token: secrets["a admin"], body: ["component": "quick", "config": "one"])
        #expect(aJob.status == 201 && aJob.body["project"]?["id"]?.string == "a")
        let aToken = secrets["a admin"]
        #expect(try await api.call("GET", "/v1/jobs/\(bId)", token: aToken).status == 404)
        #expect(try await api.call("POST", "/v1/jobs/\(bId)/kill", token: aToken).status == 404)
        #expect(try await api.call("GET", "/v1/jobs/\(bId)/events", token: aToken).status == 404)
        let search = try await api.call("GET", "/v1/jobs?limit=500", token: aToken)
        #expect(search.body.items.map { $0["project"]?["id"]?.string } == [String?](repeating: "a", count: search.body.items.count))
        #expect(!search.body.items.contains { $0["id"]?.string == bId })
        // b's orchestrations, components and configurations exist only in b.
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, project: b, id: only-in-b, executor: {type: noop}}
                - {kind: configuration, project: b, component: only-in-b, id: secret}
                """), store: store)
        }
        #expect(!(try await api.call("GET", "/v1/components", token: aToken)).body.items.contains { $0["id"]?.string == "only-in-b" })
        #expect(try await api.call("GET", "/v1/components/only-in-b/configurations", token: aToken).body.items.isEmpty)
        let run = try await api.call("POST", "/v1/jobs", token: aToken, body: ["component": "only-in-b", "config": "secret"])
        #expect(run.status == 404 && run.field == "config")
        // The job b made is untouched by a's kill attempt.
        #expect(try await api.call("GET", "/v1/jobs/\(bId)", token: secrets["b admin"]).body["desiredStatus"]?.string == "processing")
    }

    @Test("a trigger token runs its orchestration and reads that run, nothing else; runs record the trigger token and act as the orchestration's token")
    func triggerToken() async throws {
        let (url, secrets, tokens) = try await setUp("apitrigger")
        let api = try await LiveAPI(databaseURL: url)
        let trigger = secrets["a trigger:flow"]
        let run = try await api.call("POST", "/v1/orchestrations/flow/jobs", token: trigger, body: ["tasks": ["t2"]])
        #expect(run.status == 201, "\(run.text)")
        let runId = run.body["id"]!.string!
        #expect(run.body["token"]?["id"]?.string == String(tokens["a trigger:flow"]!.id))
        let acting = run.body["actingToken"]?["id"]?.string
        #expect(acting != nil && acting != run.body["token"]?["id"]?.string, "the run acts as the orchestration's own token")
        #expect(try await api.call("GET", "/v1/jobs/\(runId)", token: trigger).status == 200)
        #expect(try await api.call("GET", "/v1/orchestrations/flow/plan", token: trigger).status == 200)
        // Not: another orchestration, a plain job, a kill, someone else's job, another project's flow.
        #expect(try await api.call("POST", "/v1/orchestrations/other/jobs", token: trigger).status == 403)
        #expect(try await api.call("POST", "/v1/jobs", token: trigger, body: ["component": "quick", "config": "one"]).status == 403)
        #expect(try await api.call("POST", "/v1/jobs/\(runId)/kill", token: trigger).status == 403)
        let plain = try await api.call("POST", "/v1/jobs", token: secrets["a admin"], body: ["component": "quick", "config": "one"])
        #expect(try await api.call("GET", "/v1/jobs/\(plain.body["id"]!.string!)", token: trigger).status == 404)
        let search = try await api.call("GET", "/v1/jobs", token: trigger)
        #expect(search.body.items.map { $0["id"]?.string } == [runId], "a trigger token's search sees its runs only: \(search.text)")
        #expect(try await api.call("GET", "/v1/orchestrations", token: trigger).body.items.map { $0["id"]?.string } == ["flow"])
        // A read token reads but changes nothing.
        #expect(try await api.call("GET", "/v1/jobs/\(runId)", token: secrets["a read"]).status == 200)
        let readRun = try await api.call("POST", "/v1/orchestrations/flow/jobs", token: secrets["a read"])
        #expect(readRun.status == 403 && readRun.code == "forbidden")
        // The run's task jobs act as the orchestration's token too.
        let worker = try BatonProcess(["worker", "--poll-seconds", "1"], databaseURL: url)
        let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
        defer { worker.stop(); coordinator.stop() }
        try await Store.withStore(url: url, logger: logger) { store in
            let done = try await store.waitForFinal([Int64(runId)!], timeout: 60)[0]
            #expect(done.status == .success)
            let children = try await store.children(of: done.id)
            #expect(children.map(\.orchestrationTaskId) == ["t2"], "only the selected task ran")
            #expect(children.allSatisfy { $0.actingTokenId.map(String.init) == acting })
        }
    }

    @Test("bad input: 400 naming the field, 413 for a large body, JSON errors without database text")
    func validation() async throws {
        let (url, secrets, _) = try await setUp("apivalidation")
        let api = try await LiveAPI(databaseURL: url)
        let admin = secrets["a admin"]
        let noComponent = try await api.call("POST", "/v1/jobs", token: admin, body: ["config": "one"])
        #expect(noComponent.status == 400 && noComponent.field == "component" && noComponent.code == "invalid-input")
        let badJSON = try await api.call("POST", "/v1/jobs", token: admin, rawBody: Data("{not json".utf8))
        #expect(badJSON.status == 400 && badJSON.field == "body")
        let big = try await api.call("POST", "/v1/jobs", token: admin, rawBody: Data(("{\"x\": \"" + String(repeating: "a", count: 1_100_000) + "\"}").utf8))
        #expect(big.status == 413)
        for (query, field) in [("limit=0", "limit"), ("limit=501", "limit"), ("status=running", "status"), ("sortBy=name", "sortBy"),
                               ("sortOrder=up", "sortOrder"), ("createdTimeFrom=yesterday", "createdTimeFrom"), ("offset=-1", "offset")] {
            let reply = try await api.call("GET", "/v1/jobs?\(query)", token: admin)
            #expect(reply.status == 400 && reply.field == field, "\(query): \(reply.text)")
        }
        #expect(try await api.call("GET", "/v1/jobs/abc", token: admin).field == "id")
        let unknown = try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "quick", "config": "nope"])
        #expect(unknown.status == 404 && unknown.field == "config")
        let badTask = try await api.call("POST", "/v1/orchestrations/flow/jobs", token: admin, body: ["tasks": ["t9"]])
        #expect(badTask.status == 400, "\(badTask.text)")
        let badOrchestration = try await api.call("PUT", "/v1/orchestrations/broken", token: admin,
                                                  body: ["phases": [["id": "1", "name": "P"]], "tasks": [["id": "x", "name": "X", "phase": "9", "task": ["componentId": "quick", "configId": "one"]]]])
        #expect(badOrchestration.status == 400, "\(badOrchestration.text)")
        let nul = try await api.call("PUT", "/v1/components/quick/configurations/one", token: admin, body: ["parameters": ["a": "x\u{0}y"]])
        #expect(nul.status == 400 && nul.field == "body", "PostgreSQL cannot store U+0000: \(nul.text)")
        #expect(try await api.call("GET", "/v1/jobs?config=a%00b", token: admin).field == "url")
        for reply in [noComponent, badJSON, unknown, badTask, badOrchestration, nul] {
            #expect(!reply.text.contains("SQLSTATE") && !reply.text.lowercased().contains("postgres"))
        }
        // Filters and paging work together.
        for _ in 0..<3 { _ = try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "quick", "config": "two"]) }
        let page = try await api.call("GET", "/v1/jobs?config=two&limit=2&sortBy=id&sortOrder=asc", token: admin)
        let ids = page.body.items.compactMap { $0["id"]?.string.flatMap { Int64($0) } }
        #expect(ids.count == 2 && ids == ids.sorted())
    }

    @Test("components, configurations and orchestrations: put, get, delete; deletes refused while something depends on them; /metrics counts jobs")
    func crudAndMetrics() async throws {
        let (url, secrets, _) = try await setUp("apicrud")
        let api = try await LiveAPI(databaseURL: url, environment: ["BATON_METRICS_TOKEN": "metrics-crud-0123456789"])
        let admin = secrets["a admin"]
        #expect(try await api.call("PUT", "/v1/components/echo", token: admin, body: ["executor": ["type": "noop"]]).status == 200)
        #expect(try await api.call("GET", "/v1/components/echo", token: admin).body["executor"]?["type"]?.string == "noop")
        #expect(try await api.call("PUT", "/v1/components/echo/configurations/c1", token: admin, body: ["name": "C1", "parameters": ["k": "v"]]).status == 200)
        #expect(try await api.call("GET", "/v1/components/echo/configurations/c1", token: admin).body["parameters"]?["k"]?.string == "v")
        let busy = try await api.call("DELETE", "/v1/components/echo", token: admin)
        #expect(busy.status == 409 && busy.error?.contains("has 1 configuration") == true)
        // A job keeps its configuration, unfinished or in history; so does an orchestration task that runs it.
        let job = try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "echo", "config": "c1"])
        let queued = try await api.call("DELETE", "/v1/components/echo/configurations/c1", token: admin)
        #expect(queued.status == 409 && queued.error?.contains("unfinished") == true)
        #expect(try await api.call("DELETE", "/v1/components/quick/configurations/one", token: admin).error?.contains("orchestration") == true)
        let metrics = try await api.call("GET", "/metrics", token: "metrics-crud-0123456789")
        let samples = try TestPython.parsePrometheus(metrics.text)
        #expect(metrics.status == 200 && samples.contains { $0.name == "baton_queue_jobs" && $0.labels == ["project": "a", "status": "created", "reason": ""] && $0.value == 1 },
                "\(metrics.text)")
        #expect(samples.contains { $0.name == "baton_api_requests_total" && $0.labels == ["code": "409"] && $0.value >= 1 })
        _ = try await api.call("POST", "/v1/jobs/\(job.body["id"]!.string!)/kill", token: admin)
        let history = try await api.call("DELETE", "/v1/components/echo/configurations/c1", token: admin)
        #expect(history.status == 409 && history.error?.contains("in its history") == true)
        #expect(try await api.call("PUT", "/v1/components/bare", token: admin, body: ["executor": ["type": "noop"]]).status == 200)
        #expect(try await api.call("PUT", "/v1/components/bare/configurations/unused", token: admin, body: [:]).status == 200)
        #expect(try await api.call("DELETE", "/v1/components/bare/configurations/unused", token: admin).status == 200)
        #expect(try await api.call("GET", "/v1/components/bare/configurations/unused", token: admin).status == 404)
        #expect(try await api.call("DELETE", "/v1/components/bare", token: admin).status == 200)
        #expect(try await api.call("GET", "/v1/components/bare", token: admin).status == 404)
        // Deleting an orchestration takes its trigger tokens with it; project b's is untouched.
        #expect(try await api.call("DELETE", "/v1/orchestrations/flow", token: admin).status == 200)
        #expect(try await api.call("GET", "/v1/orchestrations/flow", token: admin).status == 404)
        #expect(try await api.call("GET", "/v1/jobs", token: secrets["a trigger:flow"]).status == 401)
        #expect(try await api.call("GET", "/v1/orchestrations/flow", token: secrets["b trigger:flow"]).status == 200)
        #expect(try await api.call("DELETE", "/v1/orchestrations/flow", token: secrets["a read"]).status == 403)
    }

    @Test("every route is in openapi.yaml and every operation in openapi.yaml is a route; /openapi.yaml serves it")
    func openAPICoversRoutes() async throws {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("openapi.yaml").path) { directory.deleteLastPathComponent() }
        let text = try String(contentsOf: directory.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        var documented = Set<String>()
        for (path, item) in paths {
            for method in (item as? [String: Any] ?? [:]).keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let routed = Set(API.routes.map { "\($0.method) \($0.path)" })
        #expect(routed.subtracting(documented).isEmpty, "routes missing from openapi.yaml: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "openapi.yaml operations with no route: \(documented.subtracting(routed).sorted())")
        let url = try await TestPostgres.shared.makeDatabase("apiopenapi")
        let api = try await LiveAPI(databaseURL: url)
        let served = try await api.call("GET", "/openapi.yaml")
        #expect(served.status == 200 && served.text == text)
    }
}
