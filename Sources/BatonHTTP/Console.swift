import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Hummingbird
import NIOCore

/// The web console under `/console`: server-rendered HTML, no JavaScript build step. A person
/// logs in with a token (kept in an HttpOnly, SameSite=Strict cookie) and sees only that
/// token's project, with the same scope rules as the API: each screen names the API route it
/// acts as, and is authorized as that route. The HTML pieces are in ConsoleHTML.swift.
public struct Console: Sendable {
    let api: API
    static let cookie = "baton_token"

    public init(api: API) { self.api = api }

    /// One page or form of the console.
    public struct Route: Sendable {
        enum Handler: Sendable {
            /// No login needed.
            case open(@Sendable (Console, Request) async throws -> Response)
            /// Logged in, and authorized as the API route `actsAs`.
            case screen(actsAs: API.Route, @Sendable (Console, Screen) async throws -> Response)
        }

        public let method: HTTPRequest.Method
        public let path: String
        let handler: Handler
    }

    /// Every route of the console.
    public static let routes: [Route] = [
        Route(method: .get, path: "/console", handler: .open { try await $0.home($1) }),
        Route(method: .get, path: "/console/login", handler: .open { _, _ in page("Log in", loginForm(nil)) }),
        Route(method: .post, path: "/console/login", handler: .open { try await $0.logIn($1) }),
        Route(method: .post, path: "/console/logout", handler: .open { _, _ in Console.logOut() }),
        screen(.get, "/console/orchestrations", as: .get, "/v1/orchestrations") { try await $0.orchestrations($1) },
        screen(.get, "/console/orchestrations/{id}", as: .get, "/v1/orchestrations/{id}") { try await $0.orchestration($1) },
        screen(.get, "/console/orchestrations/{id}/run", as: .get, "/v1/orchestrations/{id}/plan") { try await $0.runDialog($1) },
        screen(.post, "/console/orchestrations/{id}/run", as: .post, "/v1/orchestrations/{id}/jobs") { try await $0.run($1) },
        screen(.get, "/console/jobs/{id}", as: .get, "/v1/jobs/{id}") { try await $0.job($1) },
        screen(.post, "/console/jobs/{id}/kill", as: .post, "/v1/jobs/{id}/kill") { try await $0.kill($1) },
        screen(.get, "/console/jobs/{id}/retry", as: .get, "/v1/jobs/{id}/retry-plan") { try await $0.retryDialog($1) },
        screen(.post, "/console/jobs/{id}/retry", as: .post, "/v1/jobs/{id}/retry") { try await $0.retry($1) },
    ]

    static func screen(_ method: HTTPRequest.Method, _ path: String, as apiMethod: HTTPRequest.Method, _ apiPath: String,
                       _ handler: @escaping @Sendable (Console, Screen) async throws -> Response) -> Route {
        Route(method: method, path: path, handler: .screen(actsAs: API.route(apiMethod, apiPath), handler))
    }

    public func add(to router: Router<BasicRequestContext>) {
        for route in Console.routes {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                switch route.handler {
                case .open(let handler): try await handler(self, request)
                case .screen(let actsAs, let handler): await self.show(actsAs, handler, request, context)
                }
            }
        }
    }

    // MARK: - plumbing

    /// One request to a screen by a logged-in person.
    struct Screen {
        let request: Request
        let parameters: Parameters
        let token: Token
        let form: [String: String]
        let checked: [String]
        func id() throws -> String {
            guard let id = parameters.get("id") else { throw BatonError(.invalidInput, "missing id", field: "id") }
            return id
        }
        func jobId() throws -> Int64 {
            guard let id = Int64(try id()), id > 0 else { throw BatonError(.invalidInput, "job id must be a positive integer", field: "id") }
            return id
        }
    }

    private func show(_ actsAs: API.Route, _ handler: @Sendable (Console, Screen) async throws -> Response,
                      _ request: Request, _ context: BasicRequestContext) async -> Response {
        guard let token = try? await self.token(request) else { return redirect("/console/login") }
        do {
            try api.authorize(token, for: actsAs, parameters: context.parameters)
            var form: [String: String] = [:]
            var checked: [String] = []
            if request.method == .post {
                for (key, value) in try await self.pairs(request) {
                    if key == "task" { checked.append(value) } else { form[key] = value }
                }
            }
            return try await handler(self, Screen(request: request, parameters: context.parameters, token: token, form: form, checked: checked))
        } catch let error as BatonError {
            return page("Not possible", "<p class=\"error\">\(h(error.message))</p>" + error.details.map { "<p>\(h($0))</p>" }.joined()
                        + "<p><a href=\"/console/orchestrations\">Orchestrations</a></p>", status: error.code.httpStatus, token: token)
        } catch {
            api.logger.error("console request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error).prefix(500))"])
            return page("Error", "<p class=\"error\">Something went wrong; the server log has the details.</p>", status: .internalServerError, token: token)
        }
    }

    func token(_ request: Request) async throws -> Token? {
        guard let header = request.headers[.cookie] else { return nil }
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == Console.cookie, !pair[1].isEmpty, pair[1].count <= 200 {
                return try await api.store.token(secret: String(pair[1]))
            }
        }
        return nil
    }

    func pairs(_ request: Request) async throws -> [(String, String)] {
        let body = String(buffer: try await request.body.collect(upTo: API.maxBodyBytes))
        return body.split(separator: "&").compactMap { item in
            let pair = item.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            return pair.isEmpty ? nil : (pair[0], pair.count > 1 ? pair[1] : "")
        }
    }

    func form(_ request: Request) async throws -> [String: String] {
        Dictionary(try await pairs(request), uniquingKeysWith: { first, _ in first })
    }

    // MARK: - logging in

    func home(_ request: Request) async throws -> Response {
        (try? await token(request)) != nil ? redirect("/console/orchestrations") : redirect("/console/login")
    }

    func logIn(_ request: Request) async throws -> Response {
        let form = try await self.form(request)
        let secret = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty, secret.count <= 200, let token = try await api.store.token(secret: secret) else {
            return page("Log in", loginForm("That token is not known. Create one with: baton tokens create --project P"), status: .unauthorized)
        }
        if case .orchestration = token.scope {
            return page("Log in", loginForm("An orchestration's own token cannot log in."), status: .forbidden)
        }
        var response = redirect("/console/orchestrations")
        response.headers[.setCookie] = "\(Console.cookie)=\(secret); Path=/console; HttpOnly; SameSite=Strict"
        return response
    }

    static func logOut() -> Response {
        var response = redirect("/console/login")
        response.headers[.setCookie] = "\(Console.cookie)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"
        return response
    }

    // MARK: - screens

    func orchestrations(_ s: Screen) async throws -> Response {
        var rows = ""
        let latest = try await api.store.latestRuns(projectId: s.token.projectId)
        for item in try await api.store.orchestrations(projectId: s.token.projectId) {
            if case .trigger(let id) = s.token.scope, id != item.id { continue }
            let last = latest[item.id]
            let definition = try? OrchestrationDefinition.snapshot(item.definition)
            rows += "<tr><td><a href=\"/console/orchestrations/\(u(item.id))\">\(h(item.name))</a></td><td>\(h(item.id))</td>"
                + "<td>\(definition?.phases.count ?? 0)</td><td>\(definition?.tasks.count ?? 0)</td>"
                + "<td>\(last.map { "<a href=\"/console/jobs/\($0.id)\">\(badge($0.status))</a> \(h(Job.formatTime($0.createdTime)))" } ?? "never run")</td></tr>"
        }
        let body = "<table><tr><th>Orchestration</th><th>Id</th><th>Phases</th><th>Tasks</th><th>Last run</th></tr>\(rows)</table>"
        return page("Orchestrations", rows.isEmpty ? "<p>No orchestrations in project \(h(s.token.projectId)) yet: <code>baton apply -f FILE</code>.</p>" : body, token: s.token)
    }

    func orchestration(_ s: Screen) async throws -> Response {
        let id = try s.id()
        let definition = try await Orchestrations.definition(store: api.store, projectId: s.token.projectId, id: id)
        var phases = ""
        for phase in definition.phases {
            let tasks = definition.tasks.filter { $0.phase == phase.id }.map { task in
                "<li>\(h(task.name)) <span class=\"muted\">\(h(task.componentId)) / \(h(task.configId))</span>"
                    + (task.enabled ? "" : " <span class=\"flag\">disabled</span>")
                    + (task.continueOnFailure ? " <span class=\"flag\">continue on failure</span>" : "") + "</li>"
            }.joined()
            let after = phase.dependsOn.isEmpty ? "" : " <span class=\"muted\">after \(phase.dependsOn.map(h).joined(separator: ", "))</span>"
            phases += "<div class=\"phase\"><h3>\(h(phase.name))\(after)</h3><ul>\(tasks)</ul></div>"
        }
        let runs = try await api.store.jobs(JobFilter(projectId: s.token.projectId, componentId: ExecutorSpec.orchestratorComponentId, configId: id, limit: 20))
        let rows = runs.map { job in
            "<tr><td><a href=\"/console/jobs/\(job.id)\">\(job.id)</a></td><td>\(badge(job.status))</td><td>\(h(Job.formatTime(job.createdTime)))</td>"
                + "<td>\(duration(job))</td><td>\(job.previousJobId.map { "retry of \($0)" } ?? "")</td></tr>"
        }.joined()
        let now = Date()
        let schedules = try await api.store.schedules(projectId: s.token.projectId).filter { $0.orchestrationId == id }.map { row in
            let next = row.nextFireTime(after: now).map { date in
                // UTC as written; the script at the end of the page adds the viewer's local time.
                "<time class=\"local\" datetime=\"\(Job.formatTime(date))\">\(h(utcMinute(date)))</time>"
            } ?? "<span class=\"muted\">disabled</span>"
            return "<tr><td>\(h(row.id))</td><td><code>\(h(row.cron))</code> UTC</td><td>\(h(row.onOverlap))</td><td>\(next)</td></tr>"
        }.joined()
        let scheduleTable = schedules.isEmpty ? "" : "<h2>Schedules</h2><table><tr><th>Schedule</th><th>Cron</th><th>On overlap</th><th>Next run</th></tr>\(schedules)</table>"
        let body = "<p><a class=\"button\" href=\"/console/orchestrations/\(u(id))/run\">Run…</a></p>\(scheduleTable)<h2>Phases</h2>\(phases)"
            + "<h2>Last runs</h2>" + (rows.isEmpty ? "<p>Not run yet.</p>" : "<table><tr><th>Job</th><th>Status</th><th>Created</th><th>Duration</th><th></th></tr>\(rows)</table>")
        return page("Orchestration \(id)", body, token: s.token)
    }

    func runDialog(_ s: Screen) async throws -> Response {
        let id = try s.id()
        let (definition, selected) = try await Orchestrations.plan(store: api.store, projectId: s.token.projectId, id: id, only: [], exclude: [])
        let plan = PlanView(orchestrationId: id, definition: definition, selected: selected)
        let body = "<form method=\"post\" action=\"/console/orchestrations/\(u(id))/run\"><p>Tasks to run (the plan; uncheck what should not run):</p>"
            + checkboxes(plan.phases.map { phase in (phase.phase, phase.tasks.map { ($0.task, $0.selected, "") }) })
            + "<p><button type=\"submit\" id=\"run\">Run</button> <a href=\"/console/orchestrations/\(u(id))\">Cancel</a></p></form>"
        return page("Run \(id)", body, token: s.token)
    }

    func run(_ s: Screen) async throws -> Response {
        let id = try s.id()
        guard !s.checked.isEmpty else { throw BatonError(.invalidInput, "check at least one task to run", field: "task") }
        let job = try await Orchestrations.run(store: api.store, projectId: s.token.projectId, id: id, only: s.checked, exclude: [], tokenId: s.token.id)
        return redirect("/console/jobs/\(job.id)")
    }

    func job(_ s: Screen) async throws -> Response {
        let view = try await api.runView(try await api.visibleJob(try s.jobId(), s.token))
        let job = view.run
        var body = "<p>\(badge(job.status)) \(h(job.componentId)) / \(h(job.configId)) · created \(h(Job.formatTime(job.createdTime)))"
            + " · duration \(duration(job))" + (job.previousJobId.map { " · retry of <a href=\"/console/jobs/\($0)\">\($0)</a>" } ?? "") + "</p>"
        var actions = ""
        if !job.status.isFinal, s.token.scope == .admin {
            actions += "<form method=\"post\" action=\"/console/jobs/\(job.id)/kill\" class=\"inline\"><button type=\"submit\" id=\"kill\">Kill</button></form> "
        }
        if job.status.isFinal, job.isOrchestration, s.token.scope == .admin {
            actions += "<a class=\"button\" id=\"retry\" href=\"/console/jobs/\(job.id)/retry\">Retry…</a>"
        }
        body += actions.isEmpty ? "" : "<p>\(actions)</p>"
        if view.definition != nil {
            var phases = ""
            for phase in view.phases {
                let rows = phase.tasks.map { task -> String in
                    guard let child = task.job else {
                        return "<tr><td>\(h(task.task.name))</td><td class=\"muted\">\(task.selected ? "not started" : "not selected")</td><td></td><td></td></tr>"
                    }
                    return "<tr><td>\(h(task.task.name))</td><td>\(badge(child.status))</td><td><a href=\"/console/jobs/\(child.id)\">\(child.id)</a></td><td>\(duration(child))</td></tr>"
                }.joined()
                phases += "<div class=\"phase\"><h3>\(h(phase.phase.name)) \(phaseBadge(phase.status))</h3><table>\(rows)</table></div>"
            }
            body += "<h2>Phases</h2>\(phases)<h2>Timeline</h2>\(timeline(view))"
        }
        let events = try await api.store.events(jobId: job.id, limit: 200)
        body += "<h2>Events</h2>" + (events.isEmpty ? "<p class=\"muted\">None.</p>"
            : "<pre>" + events.map { "\(h(Job.formatTime($0.time))) \(h($0.stream.rawValue)) \(h($0.message))" }.joined(separator: "\n") + "</pre>")
        // Live refresh while the job is not finished.
        return page("Job \(job.id)", body, token: s.token, refresh: job.status.isFinal ? nil : 2)
    }

    func kill(_ s: Screen) async throws -> Response {
        let job = try await api.visibleJob(try s.jobId(), s.token)
        _ = try await api.store.killJob(id: job.id)
        return redirect("/console/jobs/\(job.id)")
    }

    func retryDialog(_ s: Screen) async throws -> Response {
        let job = try await api.visibleJob(try s.jobId(), s.token)
        let plan = try await Orchestrations.retryPlan(store: api.store, jobId: job.id)
        guard let definition = plan.definition else {
            throw BatonError(.invalidInput, "job \(job.id) is not an orchestration run", field: "id")
        }
        let itemsOfPhase = Dictionary(grouping: plan.items, by: \.task.phase)
        let body = "<form method=\"post\" action=\"/console/jobs/\(job.id)/retry\"><p>Checked by default: failed tasks, and every task of failed and not-executed phases.</p>"
            + checkboxes(definition.phases.map { phase in
                (phase, (itemsOfPhase[phase.id] ?? []).map { item in
                    (item.task, item.matched, item.previousStatus.map { "was \($0.rawValue)" } ?? "did not run")
                })
            })
            + "<p><button type=\"submit\" id=\"retry-run\">Retry</button> <a href=\"/console/jobs/\(job.id)\">Cancel</a></p></form>"
        return page("Retry job \(job.id)", body, token: s.token)
    }

    func retry(_ s: Screen) async throws -> Response {
        let job = try await api.visibleJob(try s.jobId(), s.token)
        guard !s.checked.isEmpty else { throw BatonError(.invalidInput, "check at least one task to rerun", field: "task") }
        let new = try await Orchestrations.retry(store: api.store, jobId: job.id, only: s.checked, tokenId: s.token.id)
        return redirect("/console/jobs/\(new.id)")
    }
}
