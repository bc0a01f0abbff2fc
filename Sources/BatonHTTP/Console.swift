import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Hummingbird
import NIOCore

/// The web console under `/console`: server-rendered HTML, no JavaScript build step. A person
/// logs in with a token and sees only that token's project, with the same scope rules as the API:
/// each screen names the API route it acts as, and is authorized as that route. The HTML pieces
/// are in ConsoleHTML.swift.
///
/// Sessions live on the server (`console_sessions`): the cookie holds a random session id (only its
/// hash is stored), never the API secret; it is HttpOnly, SameSite=Strict, and Secure when the
/// console is served over HTTPS (`--public-url https://...`, or `X-Forwarded-Proto: https`). Every
/// form carries a CSRF token, and every POST must come from the console's own origin (`Origin`,
/// else `Referer`): a page of another origin, even of the same site, can neither act nor log a
/// person in. Pages carry a Content-Security-Policy (scripts and styles by nonce only,
/// `frame-ancestors 'none'`). A session ends at logout, after `--session-hours`, and when its
/// token is revoked or expires.
public struct Console: Sendable {
    let api: API
    static let sessionCookie = "baton_session"
    static let loginCookie = "baton_login"

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
        Route(method: .get, path: "/console/login", handler: .open { $0.loginPage($1) }),
        Route(method: .post, path: "/console/login", handler: .open { try await $0.logIn($1) }),
        Route(method: .post, path: "/console/logout", handler: .open { try await $0.logOut($1) }),
        screen(.get, "/console/orchestrations", as: .get, "/v1/orchestrations") { try await $0.orchestrations($1) },
        screen(.get, "/console/orchestrations/{id}", as: .get, "/v1/orchestrations/{id}") { try await $0.orchestration($1) },
        screen(.get, "/console/orchestrations/{id}/run", as: .get, "/v1/orchestrations/{id}/plan") { try await $0.runDialog($1) },
        screen(.post, "/console/orchestrations/{id}/run", as: .post, "/v1/orchestrations/{id}/jobs") { try await $0.run($1) },
        screen(.get, "/console/jobs", as: .get, "/v1/jobs") { try await $0.jobsPage($1) },
        screen(.post, "/console/jobs/kill", as: .post, "/v1/jobs/kill") { try await $0.killMatching($1) },
        screen(.post, "/console/jobs/retry", as: .post, "/v1/jobs/retry") { try await $0.retryMatching($1) },
        screen(.get, "/console/jobs/{id}", as: .get, "/v1/jobs/{id}") { try await $0.job($1) },
        screen(.get, "/console/jobs/{id}/events", as: .get, "/v1/jobs/{id}/events") { try await $0.eventsJSON($1) },
        screen(.get, "/console/jobs/{id}/log.txt", as: .get, "/v1/jobs/{id}/events") { try await $0.logText($1) },
        screen(.get, "/console/fleet", as: .get, "/v1/queue") { try await $0.fleet($1) },
        screen(.post, "/console/schedules/{id}/enable", as: .post, "/v1/schedules/{id}/enable") { try await $0.switchSchedule($1, enabled: true) },
        screen(.post, "/console/schedules/{id}/disable", as: .post, "/v1/schedules/{id}/disable") { try await $0.switchSchedule($1, enabled: false) },
        screen(.post, "/console/schedules/{id}/run", as: .post, "/v1/schedules/{id}/run") { try await $0.runSchedule($1) },
        screen(.post, "/console/pauses", as: .put, "/v1/pauses") { try await $0.pause($1) },
        screen(.post, "/console/pauses/resume", as: .delete, "/v1/pauses") { try await $0.resume($1) },
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
                let response: Response
                switch route.handler {
                case .open(let handler):
                    do { response = try await handler(self, request) } catch {
                        response = self.failure(error, request, session: nil)
                    }
                case .screen(let actsAs, let handler): response = await self.show(actsAs, handler, request, context)
                }
                return Console.hardened(response)
            }
        }
    }

    // MARK: - plumbing

    /// A logged-in person: the session id (from the cookie), its token and its CSRF token.
    struct Session: Sendable {
        let id: String
        let token: Token
        let csrf: String
    }

    /// One request to a screen by a logged-in person.
    struct Screen {
        let request: Request
        let parameters: Parameters
        let session: Session
        let form: [String: String]
        let checked: [String]
        var token: Token { session.token }
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
        guard let session = try? await self.session(request) else { return redirect("/console/login") }
        do {
            try api.authorize(session.token, for: actsAs, parameters: context.parameters)
            var form: [String: String] = [:]
            var checked: [String] = []
            if request.method == .post {
                for (key, value) in try await self.pairs(request) {
                    if key == "task" { checked.append(value) } else { form[key] = value }
                }
                try checkForm(request, csrf: form["csrf"], expected: session.csrf)
            }
            return try await handler(self, Screen(request: request, parameters: context.parameters, session: session, form: form, checked: checked))
        } catch {
            return failure(error, request, session: session)
        }
    }

    func failure(_ error: any Error, _ request: Request, session: Session?) -> Response {
        if let error = error as? BatonError {
            return page("Not possible", "<p class=\"error\">\(h(error.message))</p>" + error.details.map { "<p>\(h($0))</p>" }.joined()
                        + "<p><a href=\"/console/orchestrations\">Orchestrations</a></p>", status: error.code.httpStatus, session: session)
        }
        api.logger.error("console request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error).prefix(500))"])
        return page("Error", "<p class=\"error\">Something went wrong; the server log has the details.</p>", status: .internalServerError, session: session)
    }

    /// A form may act only when it comes from the console's own origin and carries the CSRF
    /// token of the session (or, for the login form, of the login cookie).
    func checkForm(_ request: Request, csrf: String?, expected: String?) throws {
        guard let origin = Self.requestOrigin(request), allowedOrigins(request).contains(origin) else {
            throw BatonError(.forbidden, "this form came from another site (its Origin is not this console's): nothing was done")
        }
        guard let csrf, let expected, !expected.isEmpty, Self.equal(csrf, expected) else {
            throw BatonError(.forbidden, "this form is out of date or was not made by this console (its CSRF token does not match): reload the page and try again")
        }
    }

    /// Where the browser says a request comes from: `Origin`, else the origin of `Referer`.
    static func requestOrigin(_ request: Request) -> String? {
        if let origin = request.headers[.origin], origin != "null" { return normalizedOrigin(origin) }
        if let referer = request.headers[.referer] { return normalizedOrigin(referer) }
        return nil
    }

    /// `scheme://host[:port]`, lowercased, without a default port.
    static func normalizedOrigin(_ text: String) -> String? {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host?.lowercased(), !host.isEmpty else { return nil }
        let port = components.port.flatMap { ($0 == 80 && scheme == "http") || ($0 == 443 && scheme == "https") ? nil : $0 }
        return "\(scheme)://\(host)" + (port.map { ":\($0)" } ?? "")
    }

    /// The console's own origin: `--public-url`'s, or the one the request was sent to.
    func allowedOrigins(_ request: Request) -> Set<String> {
        if let publicURL = api.configuration.publicURL, let origin = Self.normalizedOrigin(publicURL) { return [origin] }
        guard let host = request.head.authority else { return [] }
        return Set(["http", "https"].compactMap { Self.normalizedOrigin("\($0)://\(host)") })
    }

    /// Whether cookies get `Secure`: the console is served over HTTPS.
    func secure(_ request: Request) -> Bool {
        if let publicURL = api.configuration.publicURL { return publicURL.lowercased().hasPrefix("https://") }
        return request.headers[.init("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    func cookie(_ name: String, _ value: String, path: String, maxAge: Int, _ request: Request) -> String {
        "\(name)=\(value); Path=\(path); HttpOnly; SameSite=Strict; Max-Age=\(maxAge)" + (secure(request) ? "; Secure" : "")
    }

    static func cookieValue(_ request: Request, _ name: String) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == name, !pair[1].isEmpty, pair[1].count <= 100 { return String(pair[1]) }
            }
        }
        return nil
    }

    /// Compares in constant time.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    func session(_ request: Request) async throws -> Session? {
        guard let id = Self.cookieValue(request, Console.sessionCookie),
              let found = try await api.store.consoleSession(id: id) else { return nil }
        return Session(id: id, token: found.token, csrf: found.csrf)
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

    /// Headers every console answer carries; pages set their own CSP (with their nonce).
    static func hardened(_ response: Response) -> Response {
        var response = response
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        }
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.init("Referrer-Policy")!] = "same-origin"
        response.headers[.cacheControl] = "no-store"
        return response
    }

    // MARK: - logging in

    func home(_ request: Request) async throws -> Response {
        (try? await session(request)) != nil ? redirect("/console/orchestrations") : redirect("/console/login")
    }

    /// The login form, with a fresh login CSRF token in a cookie and in the form.
    func loginPage(_ request: Request, message: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let nonce = Token.newSecret(prefix: "")
        var response = page("Log in", loginForm(message, csrf: nonce), status: status)
        response.headers[.setCookie] = cookie(Console.loginCookie, nonce, path: "/console/login", maxAge: 3600, request)
        return response
    }

    func logIn(_ request: Request) async throws -> Response {
        let form = try await self.form(request)
        try checkForm(request, csrf: form["csrf"], expected: Self.cookieValue(request, Console.loginCookie))
        let secret = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let token: Token?
        do {
            token = secret.isEmpty || secret.count > 200 ? nil : try await api.store.token(secret: secret)
        } catch let error as BatonError where error.code == .unauthorized {
            return loginPage(request, message: "That token cannot log in: \(error.message).", status: .unauthorized)
        }
        guard let token else {
            return loginPage(request, message: "That token is not known. Create one with: baton tokens create --project P", status: .unauthorized)
        }
        if case .orchestration = token.scope {
            return loginPage(request, message: "An orchestration's own token cannot log in.", status: .forbidden)
        }
        let (id, _) = try await api.store.createConsoleSession(token: token, lifetime: api.configuration.sessionLifetime)
        var response = redirect("/console/orchestrations")
        response.headers[values: .setCookie] = [cookie(Console.sessionCookie, id, path: "/console", maxAge: Int(api.configuration.sessionLifetime), request),
                                                cookie(Console.loginCookie, "", path: "/console/login", maxAge: 0, request)]
        return response
    }

    func logOut(_ request: Request) async throws -> Response {
        guard let session = try await session(request) else { return redirect("/console/login") }
        let form = try await self.form(request)
        try checkForm(request, csrf: form["csrf"], expected: session.csrf)
        try await api.store.deleteConsoleSession(id: session.id)
        var response = redirect("/console/login")
        response.headers[.setCookie] = cookie(Console.sessionCookie, "", path: "/console", maxAge: 0, request)
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
        return page("Orchestrations", rows.isEmpty ? "<p>No orchestrations in project \(h(s.token.projectId)) yet: <code>baton apply -f FILE</code>.</p>" : body, session: s.session)
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
            let names = phase.dependsOn.map { id in definition.phases.first { $0.id == id }?.name ?? id }
            let after = names.isEmpty ? "" : " <span class=\"muted\">after \(names.map(h).joined(separator: ", "))</span>"
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
            var controls = ""
            if s.token.scope == .admin {
                func button(_ action: String, _ label: String, confirm: String? = nil) -> String {
                    "<form method=\"post\" action=\"/console/schedules/\(u(row.id))/\(action)\" class=\"inline\"\(confirm.map { " data-confirm=\"\(h($0))\"" } ?? "")>\(csrfField(s.session))"
                        + "<button type=\"submit\" id=\"schedule-\(h(row.id))-\(action)\">\(label)</button></form> "
                }
                controls = (row.enabled ? button("disable", "Disable") : button("enable", "Enable"))
                    + button("run", "Run now", confirm: "Run orchestration \(row.orchestrationId) now?")
            }
            return "<tr><td>\(h(row.id))</td><td><code>\(h(row.cron))</code> UTC</td><td>\(h(row.onOverlap))</td><td>\(next)</td><td>\(controls)</td></tr>"
        }.joined()
        let scheduleTable = schedules.isEmpty ? "" : "<h2>Schedules</h2><table><tr><th>Schedule</th><th>Cron</th><th>On overlap</th><th>Next run</th><th></th></tr>\(schedules)</table>"
        let body = "<p><a class=\"button\" href=\"/console/orchestrations/\(u(id))/run\">Run…</a></p>\(scheduleTable)<h2>Phases</h2>\(phases)"
            + "<h2>Last runs</h2>" + (rows.isEmpty ? "<p>Not run yet.</p>" : "<table><tr><th>Job</th><th>Status</th><th>Created</th><th>Duration</th><th></th></tr>\(rows)</table>")
        return page("Orchestration \(id)", body, session: s.session)
    }

    func runDialog(_ s: Screen) async throws -> Response {
        let id = try s.id()
        let (definition, selected) = try await Orchestrations.plan(store: api.store, projectId: s.token.projectId, id: id, only: [], exclude: [])
        let plan = PlanView(orchestrationId: id, definition: definition, selected: selected)
        let body = "<form method=\"post\" action=\"/console/orchestrations/\(u(id))/run\">\(csrfField(s.session))<p>Tasks to run (the plan; uncheck what should not run):</p>"
            + checkboxes(plan.phases.map { phase in (phase.phase, phase.tasks.map { ($0.task, $0.selected, "") }) })
            + "<p><button type=\"submit\" id=\"run\">Run</button> <a href=\"/console/orchestrations/\(u(id))\">Cancel</a></p></form>"
        return page("Run \(id)", body, session: s.session)
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
        let reason = job.waitingReason.map { " <span class=\"reason\" id=\"waiting-reason\">\(h($0.rawValue))</span>" } ?? ""
        var body = "<p class=\"summary\"><span id=\"job-status\">\(badge(job.status))</span>\(reason) "
            + "<a href=\"/console/jobs?component=\(q(job.componentId))&amp;config=\(q(job.configId))\">\(h(job.componentId)) / \(h(job.configId))</a></p>"
        if job.status == .waiting, let reason = job.waitingReason {
            let why: String
            switch reason {
            case .configurationLock:
                why = try await api.store.configurationHolder(of: job).map { "it waits for job <a href=\"/console/jobs/\($0)\" id=\"holder\">\($0)</a> of the same configuration: jobs of one configuration run one at a time" }
                    ?? "it waits for an earlier job of the same configuration"
            case .projectLimit:
                let (limit, inUse) = try await api.store.projectLimit(projectId: job.projectId)
                why = "the project runs \(inUse) of its \(limit) parallel jobs; it starts when one ends (<a href=\"/console/fleet\">queue &amp; fleet</a>)"
            case .paused:
                let pauses = try await api.store.pauses(projectId: job.projectId).filter {
                    ($0.scope.componentId == nil || $0.scope.componentId == job.componentId) && ($0.scope.configId == nil || $0.scope.configId == job.configId)
                }
                why = (pauses.isEmpty ? "it is paused" : "paused: " + pauses.map { h($0.scope.description) }.joined(separator: ", ")) + " (<a href=\"/console/fleet\">resume</a>)"
            case .phase:
                why = "an earlier phase of its run has not finished"
            }
            body += "<p class=\"notice\" id=\"why-waiting\">Waiting: \(why).</p>"
        }
        var actions = ""
        if !job.status.isFinal, s.token.scope == .admin, job.desiredStatus == .processing {
            actions += "<form method=\"post\" action=\"/console/jobs/\(job.id)/kill\" class=\"inline\" data-confirm=\"Kill job \(job.id)\(job.isOrchestration ? " and its running tasks" : "")?\">"
                + "\(csrfField(s.session))<button type=\"submit\" id=\"kill\" class=\"danger\">Kill…</button></form> "
        }
        if job.status.isFinal, job.isOrchestration, s.token.scope == .admin {
            actions += "<a class=\"button\" id=\"retry\" href=\"/console/jobs/\(job.id)/retry\">Retry…</a>"
        }
        body += actions.isEmpty ? "" : "<p>\(actions)</p>"

        // Why it ended as it did.
        if let result = job.result, job.status.isFinal || result["message"] != nil {
            let message = result["message"]?.stringValue
            var facts: [String] = []
            if let reason = result["reason"]?.stringValue { facts.append("reason <strong id=\"result-reason\">\(h(reason))</strong>") }
            if case .number(let code)? = result["exitCode"] { facts.append("exit code <strong id=\"exit-code\">\(Int(code))</strong>") }
            let output = result["output"].map { $0 }.flatMap { value -> [String]? in
                if case .array(let items) = value { return items.compactMap(\.stringValue) } else { return nil }
            } ?? []
            let kind = job.status == .error || job.status == .terminated ? "failed" : job.status == .warning ? "warned" : "ok"
            body += "<div class=\"result \(kind)\" id=\"result\"><h2>Result</h2>"
                + (message.map { "<p class=\"result-message\" id=\"result-message\">\(h($0))</p>" } ?? "")
                + (facts.isEmpty ? "" : "<p>\(facts.joined(separator: " · "))</p>")
                + (output.isEmpty ? "" : "<p class=\"muted\">Last lines:</p><pre class=\"last-lines\">\(h(output.suffix(20).joined(separator: "\n")))</pre>")
                + "</div>"
        }

        // Where it belongs and when it ran.
        var rows: [(String, String)] = []
        if let runId = job.orchestrationJobId {
            rows.append(("Run", "<a href=\"/console/jobs/\(runId)\" id=\"run-link\">\(runId)</a>" + (job.orchestrationTaskId.map { " · task \(h($0))" } ?? "")))
            if let run = try await api.store.job(id: runId) {
                rows.append(("Orchestration", "<a href=\"/console/orchestrations/\(u(run.configId))\">\(h(run.configId))</a>"))
            }
        } else if job.isOrchestration {
            rows.append(("Orchestration", "<a href=\"/console/orchestrations/\(u(job.configId))\">\(h(job.configId))</a> · <a href=\"/console/jobs?orchestration=\(q(job.configId))\">its jobs</a>"))
        }
        rows.append(("Run id", h(job.runId)))
        if let previous = job.previousJobId { rows.append(("Retry of", "<a href=\"/console/jobs/\(previous)\">\(previous)</a>")) }
        let retries = try await api.store.retries(of: job.id)
        if !retries.isEmpty { rows.append(("Retried by", retries.map { "<a href=\"/console/jobs/\($0)\">\($0)</a>" }.joined(separator: ", "))) }
        rows.append(("Attempt", "\(job.attempt)" + (job.retries > 0 ? " of \(job.retries + 1)" : "")))
        if let worker = job.workerId { rows.append(("Worker", h(worker))) }
        rows.append(("Created", timeTag(job.createdTime)))
        rows.append(("Started", timeTag(job.startTime)))
        rows.append(("Ended", timeTag(job.endTime)))
        let queued = job.startTime.map { String(format: "%.2f s", $0.timeIntervalSince(job.createdTime)) } ?? (job.status.isFinal ? "never started" : String(format: "%.1f s so far", Date().timeIntervalSince(job.createdTime)))
        rows.append(("Queued", queued))
        rows.append(("Duration", duration(job)))
        rows.append(("Started by", h(job.initializedBy)))
        if let tokenId = job.tokenId {
            let token = try await api.store.tokens(projectId: job.projectId).first { $0.id == tokenId }
            rows.append(("Token", "\(tokenId)" + (token.map { " · \(h($0.description))" } ?? "")))
        }
        if let timeout = job.timeoutSeconds { rows.append(("Timeout", String(format: "%.0f s", timeout))) }
        body += "<table class=\"facts\" id=\"facts\">" + rows.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" }.joined() + "</table>"
        if !job.isOrchestration, job.parameters != .object([:]) {
            body += "<details><summary>Parameters</summary><pre id=\"parameters\">\(h(pretty(Secrets.masked(job.parameters))))</pre></details>"
        }

        if view.definition != nil {
            body += "<h2>Tasks</h2>\(runTable(view))<h2>Timeline</h2>\(timeline(view))"
        }
        body += try await logSection(job)
        // A run's phases change as it goes: it reloads while unfinished. A plain job's page
        // follows its log instead (the script fetches new lines), keeping the reader's place.
        return page("Job \(job.id)", body, session: s.session, refresh: job.status.isFinal || !job.isOrchestration ? nil : 2)
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
        let body = "<form method=\"post\" action=\"/console/jobs/\(job.id)/retry\">\(csrfField(s.session))<p>Checked by default: failed tasks, and every task of failed and not-executed phases.</p>"
            + checkboxes(definition.phases.map { phase in
                (phase, (itemsOfPhase[phase.id] ?? []).map { item in
                    (item.task, item.matched, item.previousStatus.map { "was \($0.rawValue)" } ?? "did not run")
                })
            })
            + "<p><button type=\"submit\" id=\"retry-run\">Retry</button> <a href=\"/console/jobs/\(job.id)\">Cancel</a></p></form>"
        return page("Retry job \(job.id)", body, session: s.session)
    }

    func retry(_ s: Screen) async throws -> Response {
        let job = try await api.visibleJob(try s.jobId(), s.token)
        guard !s.checked.isEmpty else { throw BatonError(.invalidInput, "check at least one task to rerun", field: "task") }
        let new = try await Orchestrations.retry(store: api.store, jobId: job.id, only: s.checked, tokenId: s.token.id)
        return redirect("/console/jobs/\(new.id)")
    }
}
