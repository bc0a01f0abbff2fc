import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing
import Yams

/// The route table, the error codes and the views, checked against a live `baton api`.
extension APITests {
    /// A path of `route` with its parameters filled in: `{id}` is `id`, `{component}` is quick.
    func path(_ route: API.Route, id: String) -> String {
        route.path.replacingOccurrences(of: "{id}", with: id).replacingOccurrences(of: "{component}", with: "quick")
    }

    @Test("each route admits exactly the tokens its row names: read tokens read, trigger tokens reach their orchestration and its runs")
    func routeTable() async throws {
        let (url, secrets, _) = try await setUp("apiroutes")
        let api = try await LiveAPI(databaseURL: url)
        for route in API.routes where route.scope == .read || route.scope == .admin {
            let method = route.method.rawValue
            // Authorization comes before the handler, so a 403 is the table's answer, not the handler's.
            let read = try await api.call(method, path(route, id: "flow"), token: secrets["a read"], body: route.method == .get ? nil : [:])
            #expect((read.status == 403) == (route.scope == .admin), "read token, \(route.method) \(route.path): \(read.status)")
            if read.status == 403 { #expect(read.code == "forbidden" && read.field == "Authorization") }
            let own = try await api.call(method, path(route, id: "flow"), token: secrets["a trigger:flow"], body: route.method == .get ? nil : [:])
            #expect((own.status == 403) == (route.trigger == .refused), "trigger token, \(route.method) \(route.path) of its orchestration: \(own.status)")
            let other = try await api.call(method, path(route, id: "other"), token: secrets["a trigger:flow"], body: route.method == .get ? nil : [:])
            #expect((other.status == 403) == (route.trigger != .itsRuns), "trigger token, \(route.method) \(route.path) of another: \(other.status)")
        }
        for route in API.routes where route.scope == .open {
            #expect(try await api.call(route.method.rawValue, route.path).status != 401, "\(route.path) needs no token")
        }
        for route in API.routes where route.scope == .metrics {
            #expect(try await api.call(route.method.rawValue, route.path).status == 401, "\(route.path) needs the metrics token")
            #expect(try await api.call(route.method.rawValue, route.path, token: secrets["a admin"]).status == 401, "\(route.path): a project's token is not the metrics token")
        }
    }

    @Test("errors carry one spelling of their code, the one openapi.yaml lists, and the code decides the status")
    func errorCodes() async throws {
        let (url, secrets, _) = try await setUp("apierrors")
        let api = try await LiveAPI(databaseURL: url)
        let admin = secrets["a admin"]
        let running = try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "quick", "config": "one"])
        let replies = [
            try await api.call("GET", "/v1/jobs?limit=0", token: admin),
            try await api.call("GET", "/v1/jobs"),
            try await api.call("DELETE", "/v1/components/quick", token: secrets["a read"]),
            try await api.call("GET", "/v1/jobs/999999", token: admin),
            try await api.call("GET", "/v1/jobs/\(running.body["id"]!.string!)/retry-plan", token: admin),
            try await api.call("POST", "/v1/jobs", token: admin, rawBody: Data(("{\"x\": \"" + String(repeating: "a", count: 1_100_000) + "\"}").utf8)),
        ]
        #expect(replies.map(\.status) == [400, 401, 403, 404, 409, 413])
        #expect(replies.map(\.code) == ["invalid-input", "unauthorized", "forbidden", "not-found", "conflict", "too-large"])
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("openapi.yaml").path) { directory.deleteLastPathComponent() }
        let document = try #require(try Yams.load(yaml: String(contentsOf: directory.appendingPathComponent("openapi.yaml"), encoding: .utf8)) as? [String: Any])
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let code = ((schemas?["Error"] as? [String: Any])?["properties"] as? [String: Any])?["code"] as? [String: Any]
        let listed = try #require(code?["enum"] as? [String])
        #expect(replies.allSatisfy { listed.contains($0.code ?? "") })
        #expect(listed.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "-" } }, "kebab-case only: \(listed)")
    }

    @Test("the API and the CLI print the same plan and the same run view")
    func viewsAgree() async throws {
        let (url, secrets, _) = try await setUp("apiviews")
        let api = try await LiveAPI(databaseURL: url)
        let admin = secrets["a admin"]
        let plan = try await api.call("GET", "/v1/orchestrations/flow/plan?excludeTask=t1", token: admin)
        let cliPlan = try BatonProcess.run(["plan", "flow", "--project", "a", "--exclude-task", "t1", "--json"], databaseURL: url)
        #expect(plan.status == 200 && cliPlan.status == 0)
        #expect(try JSONValue.parse(cliPlan.output) == plan.body, "\(cliPlan.output)")
        #expect(plan.body["phases"]?.items.map { $0["runs"] } == [false, true])

        // A run nobody advances (no coordinator) stays as created: the API's answer, its page and the CLI's agree.
        let created = try await api.call("POST", "/v1/orchestrations/flow/jobs", token: admin)
        let id = try #require(created.body["id"]?.string)
        #expect(created.body["phases"]?.items.map { $0["status"]?.string } == ["pending", "pending"])
        let shown = try await api.call("GET", "/v1/jobs/\(id)", token: admin)
        let cliShown = try BatonProcess.run(["jobs", "show", id, "--json"], databaseURL: url)
        #expect(cliShown.status == 0)
        #expect(try JSONValue.parse(cliShown.output) == shown.body, "\(cliShown.output)")
        let task = try #require(shown.body["phases"]?.items.first?["tasks"]?.items.first)
        #expect(task["taskId"]?.string == "t1" && task["selected"] == true && task["jobId"] == .null)
    }
}
