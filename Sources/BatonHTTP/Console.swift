import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Hummingbird
import NIOCore

/// The web console under `/console`: server-rendered HTML, no JavaScript build step. A person
/// logs in with a token (kept in an HttpOnly, SameSite=Strict cookie) and sees only that
/// token's project, with the same scope rules as the API.
public struct Console: Sendable {
    let api: API
    static let cookie = "baton_token"

    public init(api: API) { self.api = api }

    public static let routes: [(method: String, path: String)] = [
        ("GET", "/console"), ("GET", "/console/login"), ("POST", "/console/login"), ("POST", "/console/logout"),
        ("GET", "/console/orchestrations"), ("GET", "/console/orchestrations/{id}"),
        ("GET", "/console/orchestrations/{id}/run"), ("POST", "/console/orchestrations/{id}/run"),
        ("GET", "/console/jobs/{id}"), ("POST", "/console/jobs/{id}/kill"),
        ("GET", "/console/jobs/{id}/retry"), ("POST", "/console/jobs/{id}/retry"),
    ]

    public func add(to router: Router<BasicRequestContext>) {
        router.get("/console") { request, _ in
            (try? await self.token(request)) != nil ? redirect("/console/orchestrations") : redirect("/console/login")
        }
        router.get("/console/login") { _, _ in page("Log in", loginForm(nil)) }
        router.post("/console/login") { request, _ in
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
        router.post("/console/logout") { _, _ in
            var response = redirect("/console/login")
            response.headers[.setCookie] = "\(Console.cookie)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"
            return response
        }
        screen(router, .get, "/console/orchestrations", orchestrations)
        screen(router, .get, "/console/orchestrations/:id", orchestration)
        screen(router, .get, "/console/orchestrations/:id/run", runDialog)
        screen(router, .post, "/console/orchestrations/:id/run", run)
        screen(router, .get, "/console/jobs/:id", job)
        screen(router, .post, "/console/jobs/:id/kill", kill)
        screen(router, .get, "/console/jobs/:id/retry", retryDialog)
        screen(router, .post, "/console/jobs/:id/retry", retry)
    }

    // MARK: - plumbing

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

    private func screen(_ router: Router<BasicRequestContext>, _ method: HTTPRequest.Method, _ path: RouterPath,
                        _ handler: @escaping @Sendable (Screen) async throws -> Response) {
        router.on(path, method: method) { request, context -> Response in
            guard let token = try? await self.token(request) else { return redirect("/console/login") }
            do {
                try api.authorize(token, method: method == .get ? .get : .post, path: Console.apiPath(context.endpointPath ?? ""),
                                  parameters: context.parameters)
                var form: [String: String] = [:]
                var checked: [String] = []
                if method == .post {
                    let pairs = try await self.pairs(request)
                    for (key, value) in pairs {
                        if key == "task" { checked.append(value) } else { form[key] = value }
                    }
                }
                return try await handler(Screen(request: request, parameters: context.parameters, token: token, form: form, checked: checked))
            } catch let error as BatonError {
                let status: HTTPResponse.Status = error.code == .notFound ? .notFound : error.code == .forbidden ? .forbidden : .badRequest
                return page("Not possible", "<p class=\"error\">\(h(error.message))</p>" + error.details.map { "<p>\(h($0))</p>" }.joined()
                            + "<p><a href=\"/console/orchestrations\">Orchestrations</a></p>", status: status, token: token)
            } catch {
                api.logger.error("console request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error).prefix(500))"])
                return page("Error", "<p class=\"error\">Something went wrong; the server log has the details.</p>", status: .internalServerError, token: token)
            }
        }
    }

    /// The API path a console screen acts like, so that scopes mean the same in both.
    static func apiPath(_ endpoint: String) -> String {
        switch endpoint {
        case "/console/orchestrations": "/v1/orchestrations"
        case "/console/orchestrations/{id}": "/v1/orchestrations/{id}"
        case "/console/orchestrations/{id}/run": "/v1/orchestrations/{id}/jobs"
        case "/console/jobs/{id}": "/v1/jobs/{id}"
        case "/console/jobs/{id}/kill": "/v1/jobs/{id}/kill"
        case "/console/jobs/{id}/retry": "/v1/jobs/{id}/retry"
        default: endpoint
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

    // MARK: - screens

    func orchestrations(_ s: Screen) async throws -> Response {
        var rows = ""
        let latest = try await api.store.latestRuns(projectId: s.token.projectId)
        for item in try await api.store.orchestrations(projectId: s.token.projectId) {
            if case .trigger(let id) = s.token.scope, id != item.id { continue }
            let last = latest[item.id]
            let definition = try? OrchestrationDefinition.parse(item.definition, configurationExists: { _, _ in true }).get()
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
        let job = try await api.visibleJob(try s.jobId(), s.token)
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
        if job.isOrchestration {
            let view = RunView(run: job, children: try await api.store.children(of: job.id))
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
            if view.definition != nil { body += "<h2>Phases</h2>\(phases)<h2>Timeline</h2>\(timeline(view))" }
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

    // MARK: - pieces

    /// A checkbox per task (name `task`), grouped by phase; a disabled task's box is disabled.
    func checkboxes(_ phases: [(phase: OrchestrationDefinition.Phase, tasks: [(task: OrchestrationDefinition.Task, checked: Bool, note: String)])]) -> String {
        phases.map { phase in
            let tasks = phase.tasks.map { item in
                let task = item.task, on = item.task.enabled
                return "<li><label><input type=\"checkbox\" name=\"task\" value=\"\(h(task.id))\"\(item.checked ? " checked" : "")\(on ? "" : " disabled")> "
                    + "\(h(task.name))</label> <span class=\"muted\">\(h(task.componentId)) / \(h(task.configId))\(on ? "" : ", disabled")\(item.note.isEmpty ? "" : ", \(h(item.note))")</span></li>"
            }.joined()
            return "<div class=\"phase\"><h3>\(h(phase.phase.name))</h3><ul class=\"plain\">\(tasks)</ul></div>"
        }.joined()
    }

    /// Gantt bars per task, grouped by phase, on one time axis from the run's start to its end (or now).
    func timeline(_ view: RunView) -> String {
        let jobs = view.tasks.compactMap(\.job)
        guard let origin = jobs.compactMap(\.startTime).min() ?? view.run.startTime else { return "<p class=\"muted\">Nothing has started yet.</p>" }
        let end = ([view.run.endTime ?? Date()] + jobs.compactMap(\.endTime)).max()!
        let total = max(end.timeIntervalSince(origin), 0.001)
        var out = "<div class=\"timeline\"><div class=\"axis\">0 s … \(String(format: "%.2f", total)) s</div>"
        for phase in view.phases {
            let rows = phase.tasks.compactMap { task in task.job.map { (name: task.task.name, job: $0) } }
            guard !rows.isEmpty else { continue }
            out += "<div class=\"tl-phase\">\(h(phase.phase.name))</div>"
            for (name, child) in rows.sorted(by: { ($0.job.startTime ?? .distantFuture) < ($1.job.startTime ?? .distantFuture) }) {
                guard let start = child.startTime else {
                    out += "<div class=\"tl-row\"><span class=\"tl-name\">\(h(name))</span><span class=\"muted\">not started</span></div>"
                    continue
                }
                let left = start.timeIntervalSince(origin) / total * 100
                let width = max((child.endTime ?? Date()).timeIntervalSince(start) / total * 100, 0.5)
                out += "<div class=\"tl-row\"><span class=\"tl-name\">\(h(name))</span><span class=\"tl-track\"><span class=\"tl-bar \(child.status.rawValue)\" "
                    + "style=\"left:\(String(format: "%.2f", left))%;width:\(String(format: "%.2f", min(width, 100 - left)))%\" title=\"\(h(name)): \(duration(child))\"></span></span></div>"
            }
        }
        return out + "</div>"
    }

    func loginForm(_ message: String?) -> String {
        (message.map { "<p class=\"error\">\(h($0))</p>" } ?? "")
            + "<form method=\"post\" action=\"/console/login\"><p><label>Token <input type=\"password\" name=\"token\" id=\"token\" size=\"50\" autocomplete=\"off\"></label></p>"
            + "<p><button type=\"submit\" id=\"login\">Log in</button></p></form>"
    }
}

// MARK: - HTML

func h(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}

func u(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? text }

func badge(_ status: JobStatus) -> String { "<span class=\"status \(status.rawValue)\">\(status.rawValue)</span>" }
func phaseBadge(_ status: PhaseStatus) -> String { "<span class=\"status \(status.rawValue)\">\(status.rawValue)</span>" }

func duration(_ job: Job) -> String {
    if let seconds = job.durationSeconds { return String(format: "%.2f s", seconds) }
    if let start = job.startTime { return String(format: "%.1f s so far", Date().timeIntervalSince(start)) }
    return "–"
}

/// "2026-11-28 07:00 UTC".
func utcMinute(_ date: Date) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
    return String(format: "%04d-%02d-%02d %02d:%02d UTC", c.year!, c.month!, c.day!, c.hour!, c.minute!)
}

func redirect(_ location: String) -> Response {
    Response(status: .seeOther, headers: [.location: location])
}

func page(_ title: String, _ body: String, status: HTTPResponse.Status = .ok, token: Token? = nil, refresh: Int? = nil) -> Response {
    let nav = token.map { token in
        "<nav><a href=\"/console/orchestrations\">Orchestrations</a> <span class=\"muted\">project \(h(token.projectId)) · token \(token.id) (\(h(token.scope.description)))</span>"
            + "<form method=\"post\" action=\"/console/logout\" class=\"inline\"><button type=\"submit\">Log out</button></form></nav>"
    } ?? ""
    let html = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(h(title)) · Baton</title>
        \(refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")
        <style>
        body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1em;color:#222}
        nav{display:flex;gap:1em;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5em}
        table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.3em .5em;text-align:left}
        .muted{color:#777}.flag{background:#eef;border-radius:3px;padding:0 .3em;font-size:12px}.error{color:#b00}
        .status{border-radius:3px;padding:0 .4em;color:#fff;background:#888}.success{background:#2a7}.warning{background:#d90}
        .error.status,.status.error{background:#c33;color:#fff}.processing,.terminating{background:#27c}.waiting,.created,.pending{background:#999}
        .terminated,.cancelled,.not-executed,.skipped{background:#555}
        .phase{border-left:3px solid #ccd;padding-left:.8em;margin:.6em 0}ul.plain{list-style:none;padding-left:0}
        .inline{display:inline}.button,button{display:inline-block;border:1px solid #27c;background:#fff;color:#27c;padding:.2em .8em;border-radius:3px;text-decoration:none;cursor:pointer}
        .timeline{border:1px solid #eee;padding:.5em}.tl-phase{font-weight:600;margin-top:.4em}.axis{color:#777;font-size:12px}
        .tl-row{display:flex;align-items:center;gap:.5em;height:20px}.tl-name{width:180px;overflow:hidden;white-space:nowrap}
        .tl-track{position:relative;flex:1;height:12px;background:#f6f6f6}.tl-bar{position:absolute;top:0;height:12px;background:#27c;border-radius:2px}
        .tl-bar.success{background:#2a7}.tl-bar.error{background:#c33}.tl-bar.warning{background:#d90}
        pre{background:#f7f7f7;padding:.5em;overflow:auto;max-height:300px}
        </style></head><body>\(nav)<h1>\(h(title))</h1>\(body)
        <script>for (const t of document.querySelectorAll("time.local")) { const d = new Date(t.dateTime);
        t.insertAdjacentText("afterend", " (" + d.toLocaleString([], {dateStyle: "medium", timeStyle: "short"}) + " your time)"); }</script>
        </body></html>
        """
    return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
}
