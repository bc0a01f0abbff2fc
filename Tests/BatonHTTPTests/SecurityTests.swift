import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

// Issue 15: each test is what an attacker (a project's admin, a read token, another site) or an
// operator would try, through the processes and ports a deployment has. They drive `baton`
// processes only (BatonProcess honours BATON_BIN), so the same tests run against an older binary.

/// A `baton api` started with extra arguments and environment, and a client with any headers.
final class SecuredAPI: @unchecked Sendable {
    let process: BatonProcess
    let base: String

    init(databaseURL: String, arguments: [String] = [], environment: [String: String] = [:]) async throws {
        (process, base) = try await startAPI(databaseURL: databaseURL, arguments: arguments, environment: environment)
    }

    deinit { process.stop() }

    struct Reply {
        var status: Int
        var text: String
        var headers: [String: String]
        var json: JSONValue { (try? JSONValue.parse(text)) ?? .null }
    }

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieStorage = nil
        return URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }()

    func call(_ method: String, _ path: String, token: String? = nil, json: JSONValue? = nil, form: [(String, String)]? = nil,
              headers: [String: String] = [:]) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = Data(json.jsonText.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let form {
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            request.httpBody = Data(form.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&").utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await Self.session.data(for: request)
        let http = response as! HTTPURLResponse
        var names: [String: String] = [:]
        for (key, value) in http.allHeaderFields { names[String(describing: key).lowercased()] = String(describing: value) }
        return Reply(status: http.statusCode, text: String(decoding: data, as: UTF8.self), headers: names)
    }
}

/// Projects a and b with an admin token each; returns the database URL and the secrets.
func twoProjects(_ name: String) async throws -> (url: String, a: String, b: String) {
    let url = try await TestPostgres.shared.makeDatabase(name)
    let (a, b) = try await Store.withStore(url: url, logger: TestPostgres.shared.logger) { store -> (String, String) in
        try await store.createProject(id: "a", name: "A", maxParallelJobs: 10)
        try await store.createProject(id: "b", name: "B", maxParallelJobs: 10)
        let (_, a) = try await store.createToken(projectId: "a", scope: .admin, description: "admin of a")
        let (_, b) = try await store.createToken(projectId: "b", scope: .admin, description: "admin of b")
        return (a, b)
    }
    return (url, a, b)
}

/// Runs a job of `component`/`config` through the API as `token` would, and returns it finished with its events.
func runThroughAPI(_ api: SecuredAPI, token: String, component: String, config: String, url: String,
                   timeout: Double = 60) async throws -> (job: Job, events: [String]) {
    let created = try await api.call("POST", "/v1/jobs", token: token, json: ["component": .string(component), "config": .string(config)])
    #expect(created.status == 201, "POST /v1/jobs: \(created.text)")
    let id = try #require(created.json["id"]?.stringValue.flatMap { Int64($0) })
    return try await Store.withStore(url: url, logger: TestPostgres.shared.logger) { store in
        let job = try await store.waitForFinal([id], timeout: timeout)[0]
        try await Task.sleep(for: .milliseconds(300)) // the worker writes events before the outcome; be generous
        return (job, try await store.events(jobId: id).map(\.message))
    }
}

@Suite("security: what a tenant, another site or an operator tries", .serialized)
struct SecurityTests {
    let logger = TestPostgres.shared.logger

    // MARK: 1. job environment

    @Test("a project admin's process job does not see the worker's environment (DATABASE_URL)")
    func processJobEnvironment() async throws {
        let (url, a, _) = try await twoProjects("sec_env")
        let api = try await SecuredAPI(databaseURL: url)
        let worker = try BatonProcess(["worker", "--poll-seconds", "1"], databaseURL: url, environment: ["WORKER_ONLY_SECRET": "w0rker-only"])
        defer { worker.stop() }
        #expect(try await api.call("PUT", "/v1/components/spy", token: a,
                                   json: ["executor": ["type": "process", "command": ["sh", "-c", "env; echo done"], "environment": ["MINE": "given"]]]).status == 200)
        #expect(try await api.call("PUT", "/v1/components/spy/configurations/c", token: a, json: ["name": "c"]).status == 200)
        let (job, events) = try await runThroughAPI(api, token: a, component: "spy", config: "c", url: url)
        #expect(job.status == .success)
        #expect(events.contains("MINE=given"), "the component's environment reaches the job")
        #expect(events.contains { $0.hasPrefix("BATON_JOB_ID=") }, "the BATON_ variables reach the job")
        #expect(events.contains { $0.hasPrefix("PATH=") }, "PATH is passed on")
        let leaked = events.filter { $0.contains("DATABASE_URL") || $0.contains("postgres://") || $0.contains("w0rker-only") }
        #expect(leaked.isEmpty, "the job read the worker's environment: \(leaked)")
    }

    @Test("jobs run as another Unix user (--job-user) cannot read any process's environment through /proc")
    func jobUserCannotReadProc() async throws {
        let (url, a, _) = try await twoProjects("sec_proc")
        let api = try await SecuredAPI(databaseURL: url)
        let worker = try BatonProcess(["worker", "--poll-seconds", "1", "--job-user", "nobody"], databaseURL: url)
        defer { worker.stop() }
        let scan = #"id -un; for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f"; done 2>/dev/null | grep -c 'postgres://' || true"#
        #expect(try await api.call("PUT", "/v1/components/scan", token: a, json: ["executor": ["type": "process", "command": ["sh", "-c", .string(scan)]]]).status == 200)
        #expect(try await api.call("PUT", "/v1/components/scan/configurations/c", token: a, json: ["name": "c"]).status == 200)
        let (job, events) = try await runThroughAPI(api, token: a, component: "scan", config: "c", url: url)
        #expect(job.status == .success, "\(job.result?.jsonText ?? "") \(worker.output.suffix(500))")
        #expect(events.contains("nobody"), "the job runs as nobody: \(events)")
        #expect(events.contains("0"), "no environment holding a database URL is readable: \(events)")
    }

    @Test("a project admin's sql job cannot reach Baton's own database, neither through databaseUrlEnv nor an inline URL")
    func sqlJobCannotReachBaton() async throws {
        let (url, a, _) = try await twoProjects("sec_sql")
        let api = try await SecuredAPI(databaseURL: url)
        let worker = try BatonProcess(["worker", "--poll-seconds", "1"], databaseURL: url)
        defer { worker.stop() }
        // A token of project b, minted from project a's job.
        func mint(_ secret: String) -> JSONValue {
            ["sql": .string("INSERT INTO tokens (project_id, scope, description, secret_sha256) VALUES ('b', 'admin', 'minted', sha256(convert_to('\(secret)', 'UTF8')))")]
        }
        for (component, executor, secret) in [("viaenv", ["type": "sql", "databaseUrlEnv": "DATABASE_URL"] as JSONValue, "baton_minted_through_env"),
                                              ("inline", ["type": "sql", "databaseUrl": .string(url)] as JSONValue, "baton_minted_inline_url")] {
            let put = try await api.call("PUT", "/v1/components/\(component)", token: a, json: ["executor": executor])
            if put.status == 200 {
                #expect(try await api.call("PUT", "/v1/components/\(component)/configurations/mint", token: a, json: ["name": "mint", "parameters": mint(secret)]).status == 200)
                let (job, _) = try await runThroughAPI(api, token: a, component: component, config: "mint", url: url)
                #expect(job.status == .error, "\(component): the job ran SQL on Baton's database: \(job.result?.jsonText ?? "")")
            }
            let stolen = try await api.call("GET", "/v1/jobs", token: secret)
            #expect(stolen.status == 401, "\(component): a token minted by project a's job reads project b: \(stolen.status)")
        }
    }

    // MARK: 2. secrets

    @Test("a read token never sees a secret; secrets are encrypted at rest, decrypted only for the job, and masked in its output")
    func secrets() async throws {
        let (url, a, _) = try await twoProjects("sec_secrets")
        let read = try await Store.withStore(url: url, logger: logger) { store in
            try await store.createToken(projectId: "a", scope: .read, description: "reader").1
        }
        let keys = ["BATON_SECRET_KEYS": "k1:" + Data((0..<32).map { UInt8($0 * 7 % 256) }).base64EncodedString()]
        let api = try await SecuredAPI(databaseURL: url, environment: keys)
        let worker = try BatonProcess(["worker", "--poll-seconds", "1"], databaseURL: url, environment: keys)
        defer { worker.stop() }
        let plain = ["hdr-secret-1234", "plain-key-5678", "env-secret-9012", "param-secret-3456", "dburl-secret-7890"]
        #expect(try await api.call("PUT", "/v1/components/hook", token: a, json: ["executor": [
            "type": "http", "url": "https://hooks.example.invalid/run",
            "headers": ["#Authorization": "Bearer hdr-secret-1234", "X-Api-Key": "plain-key-5678"]]]).status == 200)
        #expect(try await api.call("PUT", "/v1/components/warehouse", token: a, json: ["executor": [
            "type": "sql", "databaseUrl": "postgres://loader:dburl-secret-7890@db.example.invalid/dw"]]).status == 200)
        let put = try await api.call("PUT", "/v1/components/proc", token: a, json: ["executor": [
            "type": "process", "command": ["sh", "-c", #"printf '%s\n' "$API_KEY" | rev; echo "key $API_KEY"; cat; echo"#],
            "environment": ["#API_KEY": "env-secret-9012"]]])
        #expect(put.status == 200, "\(put.text)")
        #expect(!plain.contains { put.text.contains($0) }, "the PUT answer echoes a secret: \(put.text)")
        #expect(try await api.call("PUT", "/v1/components/proc/configurations/c", token: a,
                                   json: ["name": "c", "parameters": ["#password": "param-secret-3456", "user": "ana"]]).status == 200)

        for path in ["/v1/components", "/v1/components/hook", "/v1/components/warehouse", "/v1/components/proc",
                     "/v1/components/proc/configurations", "/v1/components/proc/configurations/c"] {
            let reply = try await api.call("GET", path, token: read)
            #expect(reply.status == 200, "\(path): \(reply.status)")
            let seen = plain.filter { reply.text.contains($0) }
            #expect(seen.isEmpty, "read token, GET \(path) shows \(seen)")
            let asAdmin = try await api.call("GET", path, token: a)
            let secretSeen = ["hdr-secret-1234", "env-secret-9012", "param-secret-3456"].filter { asAdmin.text.contains($0) }
            #expect(secretSeen.isEmpty, "admin token, GET \(path) shows the #-secrets \(secretSeen)")
        }

        let (job, events) = try await runThroughAPI(api, token: a, component: "proc", config: "c", url: url)
        #expect(job.status == .success, "\(job.result?.jsonText ?? "") \(worker.output.suffix(800))")
        #expect(events.contains("2109-terces-vne"), "the job got the decrypted value (reversed, so not masked): \(events)")
        #expect(events.contains("key ***"), "a known secret is masked in the job's output: \(events)")
        let leaked = events.filter { line in plain.contains { line.contains($0) } }
        #expect(leaked.isEmpty, "the job's events hold secrets: \(leaked)")
        for token in [read, a] {
            let shown = try await api.call("GET", "/v1/jobs/\(job.id)", token: token)
            #expect(shown.status == 200)
            #expect(!plain.contains { shown.text.contains($0) }, "GET /v1/jobs/\(job.id) shows a secret: \(shown.text)")
            let listed = try await api.call("GET", "/v1/jobs/\(job.id)/events", token: token)
            #expect(!["env-secret-9012", "param-secret-3456"].contains { listed.text.contains($0) })
        }
        // At rest: no #-secret is stored in plain text anywhere in the database.
        let stored = try await Store.withStore(url: url, logger: logger) { store -> String in
            var all = ""
            for try await text in try await store.client.query("""
                SELECT coalesce(string_agg(x, ' '), '') FROM (
                    SELECT executor::text AS x FROM components UNION ALL SELECT parameters::text FROM configurations
                    UNION ALL SELECT parameters::text || executor::text || coalesce(result::text, '') FROM jobs
                    UNION ALL SELECT message FROM job_events) s
                """, logger: logger).decode(String.self) { all = text }
            return all
        }
        let atRest = ["hdr-secret-1234", "env-secret-9012", "param-secret-3456"].filter { stored.contains($0) }
        #expect(atRest.isEmpty, "stored in plain text: \(atRest)")
    }

    // MARK: 4. console sessions (the browser's side is browser-tests/csrf_test.py)

    @Test("console: a server-side session, not the API secret, in the cookie; Secure behind https; CSRF token and Origin check on every form; CSP; logout ends it")
    func consoleSession() async throws {
        let (url, a, _) = try await twoProjects("sec_console")
        let job = try await Store.withStore(url: url, logger: logger) { store -> Job in
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, project: a, id: idle, executor: {type: noop}}
                - {kind: configuration, project: a, component: idle, id: c}
                """), store: store)
            return try await store.createJobs(projectId: "a", componentId: "idle", configId: "c")[0]
        }
        let api = try await SecuredAPI(databaseURL: url, arguments: ["--public-url", "https://baton.example.com"])
        let origin = ["Origin": "https://baton.example.com"]

        let page = try await api.call("GET", "/console/login")
        let csp = page.headers["content-security-policy"] ?? ""
        #expect(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "CSP: \(csp)")
        let loginCSRF = Self.field("csrf", in: page.text)
        #expect(loginCSRF != nil, "the login form carries a CSRF token")
        let preCookie = page.headers["set-cookie"].map { String($0.split(separator: ";")[0]) }

        // Login CSRF: another site posts its own token to the login form.
        let forged = try await api.call("POST", "/console/login", form: [("token", a)], headers: ["Origin": "https://evil.example.com"])
        #expect(forged.status == 403 && forged.headers["set-cookie"] == nil, "login from another origin: \(forged.status)")

        var headers = origin
        if let preCookie { headers["Cookie"] = preCookie }
        let login = try await api.call("POST", "/console/login", form: [("token", a), ("csrf", loginCSRF ?? "")], headers: headers)
        #expect(login.status == 303, "login: \(login.status) \(login.text)")
        let setCookie = login.headers["set-cookie"] ?? ""
        #expect(!setCookie.contains(a), "the cookie holds the API secret")
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Secure"), "cookie: \(setCookie)")
        let cookie = String(setCookie.split(separator: ";")[0])
        let sessionValue = String(cookie.split(separator: "=", maxSplits: 1).last ?? "")
        #expect(try await api.call("GET", "/v1/jobs", token: sessionValue).status == 401, "the session id is not an API token")

        let jobPage = try await api.call("GET", "/console/jobs/\(job.id)", headers: ["Cookie": cookie])
        #expect(jobPage.status == 200)
        let csrf = try #require(Self.field("csrf", in: jobPage.text), "the kill form carries a CSRF token")
        #expect(jobPage.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)

        // Forged kills: another origin (with a stolen CSRF token even), or no CSRF token.
        let crossOrigin = try await api.call("POST", "/console/jobs/\(job.id)/kill", form: [("csrf", csrf)],
                                             headers: ["Cookie": cookie, "Origin": "https://sibling.example.com"])
        #expect(crossOrigin.status == 403, "kill from another origin: \(crossOrigin.status)")
        let noToken = try await api.call("POST", "/console/jobs/\(job.id)/kill", headers: ["Cookie": cookie, "Origin": "https://baton.example.com"])
        #expect(noToken.status == 403, "kill without a CSRF token: \(noToken.status)")
        let noOrigin = try await api.call("POST", "/console/jobs/\(job.id)/kill", form: [("csrf", csrf)], headers: ["Cookie": cookie])
        #expect(noOrigin.status == 403, "kill without Origin or Referer: \(noOrigin.status)")
        let unkilled = try await Store.withStore(url: url, logger: logger) { store in try await store.job(id: job.id)?.status }
        #expect(unkilled == .created, "a forged form killed the job")
        let kill = try await api.call("POST", "/console/jobs/\(job.id)/kill", form: [("csrf", csrf)], headers: ["Cookie": cookie, "Origin": "https://baton.example.com"])
        #expect(kill.status == 303)
        let killed = try await Store.withStore(url: url, logger: logger) { store in try await store.job(id: job.id)?.status }
        #expect(killed == .cancelled)

        // Logout ends the session on the server: the old cookie no longer works.
        let logout = try await api.call("POST", "/console/logout", form: [("csrf", csrf)], headers: ["Cookie": cookie, "Origin": "https://baton.example.com"])
        #expect(logout.status == 303)
        let after = try await api.call("GET", "/console/orchestrations", headers: ["Cookie": cookie])
        #expect(after.status == 303 && after.headers["location"] == "/console/login", "the session outlived its logout")
    }

    static func field(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    // MARK: 5. token lifecycle

    @Test("tokens: an expired and a revoked token get 401 at once, a revoked token's console session ends; list shows last use")
    func tokenLifecycle() async throws {
        let (url, a, _) = try await twoProjects("sec_tokens")
        let api = try await SecuredAPI(databaseURL: url)

        let short = try BatonProcess.run(["tokens", "create", "--project", "a", "--scope", "read", "--expires-in", "3s", "--json"], databaseURL: url)
        #expect(short.status == 0, "tokens create --expires-in: \(short.output)")
        let shortSecret = try JSONValue.parse(String(short.output.split(separator: "\n").last ?? ""))["secret"]?.stringValue ?? "none"
        #expect(try await api.call("GET", "/v1/jobs", token: shortSecret).status == 200)
        try await Task.sleep(for: .seconds(4))
        #expect(try await api.call("GET", "/v1/jobs", token: shortSecret).status == 401, "an expired token still works")

        let made = try BatonProcess.run(["tokens", "create", "--project", "a", "--scope", "admin", "--description", "laptop", "--json"], databaseURL: url)
        let madeJSON = (try? JSONValue.parse(String(made.output.split(separator: "\n").last ?? ""))) ?? .null
        let victim = madeJSON["secret"]?.stringValue ?? "none"
        let victimId = madeJSON["id"]?.stringValue ?? "0"
        #expect(try await api.call("GET", "/v1/jobs", token: victim).status == 200)
        let page = try await api.call("GET", "/console/login")
        var headers = ["Origin": api.base]
        if let pre = page.headers["set-cookie"] { headers["Cookie"] = String(pre.split(separator: ";")[0]) }
        let login = try await api.call("POST", "/console/login", form: [("token", victim), ("csrf", Self.field("csrf", in: page.text) ?? "")], headers: headers)
        let cookie = String((login.headers["set-cookie"] ?? "").split(separator: ";").first ?? "")
        #expect(try await api.call("GET", "/console/orchestrations", headers: ["Cookie": cookie]).status == 200)

        let listed = try BatonProcess.run(["tokens", "list", "--project", "a", "--json"], databaseURL: url)
        #expect(listed.status == 0, "tokens list: \(listed.output)")
        let rows = ((try? JSONValue.parse(listed.output)) ?? .null).items
        #expect(rows.first { $0["id"]?.stringValue == victimId }?["lastUsedTime"]?.stringValue != nil, "last use is shown: \(listed.output)")
        #expect(!listed.output.contains(victim), "tokens list shows a secret")

        let revoked = try BatonProcess.run(["tokens", "revoke", victimId], databaseURL: url)
        #expect(revoked.status == 0, "tokens revoke: \(revoked.output)")
        #expect(try await api.call("GET", "/v1/jobs", token: victim).status == 401, "a revoked token still works")
        #expect(try await api.call("GET", "/console/orchestrations", headers: ["Cookie": cookie]).status == 303, "a revoked token's console session goes on")

        // Over the API: an admin makes a token with an expiry, lists tokens, revokes one.
        let created = try await api.call("POST", "/v1/tokens", token: a, json: ["scope": "read", "description": "ci", "expiresIn": 3600])
        #expect(created.status == 201, "POST /v1/tokens: \(created.text)")
        let apiSecret = created.json["secret"]?.stringValue ?? "none"
        #expect(created.json["expiresTime"]?.stringValue != nil)
        #expect(try await api.call("GET", "/v1/jobs", token: apiSecret).status == 200)
        let list = try await api.call("GET", "/v1/tokens", token: a)
        #expect(list.status == 200 && !list.text.contains(apiSecret))
        let deleted = try await api.call("DELETE", "/v1/tokens/\(created.json["id"]?.stringValue ?? "0")", token: a)
        #expect(deleted.status == 200, "DELETE /v1/tokens: \(deleted.text)")
        #expect(try await api.call("GET", "/v1/jobs", token: apiSecret).status == 401)
        #expect(try await api.call("GET", "/v1/tokens", token: read(url)).status == 403, "a read token may not list tokens")
    }

    func read(_ url: String) async throws -> String {
        try await Store.withStore(url: url, logger: logger) { store in try await store.createToken(projectId: "a", scope: .read, description: "r").1 }
    }

    // MARK: 6. outbound requests

    @Test("an http job to 127.0.0.1, to a metadata address, or through a redirect that lands on loopback is refused; the allowlist opens a host")
    func outboundPolicy() async throws {
        let (url, a, _) = try await twoProjects("sec_outbound")
        let inside = try TestHTTPServer(status: 200, body: "internal metrics: project a, project b")
        let redirect = try RedirectServer(location: inside.url)
        let api = try await SecuredAPI(databaseURL: url)
        let worker = try BatonProcess(["worker", "--poll-seconds", "1"], databaseURL: url)
        for (component, target) in [("loopback", inside.url), ("metadata", "http://169.254.169.254/latest/meta-data/"),
                                    ("bounce", "http://127.0.0.1:\(redirect.port)/")] {
            #expect(try await api.call("PUT", "/v1/components/\(component)", token: a, json: ["executor": ["type": "http", "url": .string(target)]]).status == 200)
            #expect(try await api.call("PUT", "/v1/components/\(component)/configurations/c", token: a, json: ["name": "c"]).status == 200)
            let (job, _) = try await runThroughAPI(api, token: a, component: component, config: "c", url: url, timeout: 90)
            #expect(job.status == .error, "\(component): \(job.result?.jsonText ?? "")")
            #expect(job.result?["message"]?.stringValue?.contains("outbound policy") == true, "\(component): \(job.result?.jsonText ?? "")")
        }
        #expect(inside.all.isEmpty, "the internal endpoint was reached \(inside.all.count) times")
        worker.stop()

        // The operator allows the redirector's name: the first hop goes, the redirect to 127.0.0.1 does not.
        let allowing = try BatonProcess(["worker", "--poll-seconds", "1", "--outbound-allow", "localhost"], databaseURL: url)
        defer { allowing.stop() }
        #expect(try await api.call("PUT", "/v1/components/named", token: a, json: ["executor": ["type": "http", "url": .string("http://localhost:\(redirect.port)/")]]).status == 200)
        #expect(try await api.call("PUT", "/v1/components/named/configurations/c", token: a, json: ["name": "c"]).status == 200)
        let (job, _) = try await runThroughAPI(api, token: a, component: "named", config: "c", url: url)
        #expect(job.status == .error && job.result?["message"]?.stringValue?.contains("outbound policy") == true, "\(job.result?.jsonText ?? "")")
        #expect(redirect.hits >= 1, "the allowed first hop was made")
        #expect(inside.all.isEmpty, "the redirect reached the internal endpoint")

        // A response cap the operator cannot be talked out of.
        let huge = try await api.call("PUT", "/v1/components/huge", token: a, json: ["executor": ["type": "http", "url": "https://example.com/", "maxResponseBytes": 1_000_000_000]])
        #expect(huge.status == 400, "maxResponseBytes without an upper bound: \(huge.status)")
    }

    @Test("a webhook to 127.0.0.1 is refused by the coordinator's outbound policy")
    func webhookPolicy() async throws {
        let receiver = try TestHTTPServer(status: 200, body: "ok")
        let url = try await TestPostgres.shared.makeDatabase("sec_webhook", applying: """
                - {kind: component, id: broken, executor: {type: fail}}
                - {kind: configuration, component: broken, id: b}
                - kind: orchestration
                  id: fragile
                  phases: [{id: 1, name: One}]
                  tasks: [{id: t, name: T, phase: 1, task: {componentId: broken, configId: b}}]
                - {kind: notification, id: hook, orchestration: fragile, events: [job-failed], channel: {type: webhook, url: '\(receiver.url)', secret: whsec-0123456789abcdef}}
                """)
        let worker = try BatonProcess(["worker", "--poll-seconds", "1"], databaseURL: url)
        let coordinator = try BatonProcess(["coordinator", "--notification-attempts", "1"], databaseURL: url)
        defer { worker.stop(); coordinator.stop() }
        try await Store.withStore(url: url, logger: logger) { store in
            let run = try await Orchestrations.run(store: store, projectId: "default", id: "fragile", only: [], exclude: [], initializedBy: "api")
            #expect(try await store.waitForFinal([run.id]).first?.status == .error)
            try await waitUntil(timeout: 30, "the notification attempted") {
                try await store.notifications(projectId: "default").contains { $0.json["state"]?.stringValue != "pending" }
            }
            let row = try #require(try await store.notifications(projectId: "default").first)
            #expect(row.json["state"]?.stringValue == "failed", "\(row.json.jsonText)")
            #expect(row.json["lastError"]?.stringValue?.contains("outbound policy") == true, "\(row.json.jsonText)")
        }
        #expect(receiver.all.isEmpty, "the webhook reached 127.0.0.1")
    }

    // MARK: 7. /metrics

    @Test("/metrics names every project: the API answers it only with the metrics token; workers too when one is set")
    func metricsNeedToken() async throws {
        let (url, a, _) = try await twoProjects("sec_metrics")
        let open = try await SecuredAPI(databaseURL: url)
        let anonymous = try await open.call("GET", "/metrics")
        #expect(anonymous.status != 200 && !anonymous.text.contains("project=\"b\""), "an anonymous scrape: \(anonymous.status)")
        #expect(try await open.call("GET", "/metrics", token: a).status != 200, "a project's token reads every project's metrics")
        #expect(try await open.call("GET", "/healthz").status == 200)

        let guarded = try await SecuredAPI(databaseURL: url, environment: ["BATON_METRICS_TOKEN": "metrics-0123456789abcdef"])
        #expect(try await guarded.call("GET", "/metrics").status == 401)
        let scraped = try await guarded.call("GET", "/metrics", token: "metrics-0123456789abcdef")
        #expect(scraped.status == 200 && scraped.text.contains("baton_database_up"))

        let worker = try BatonProcess(["worker", "--metrics-port", "0"], databaseURL: url, environment: ["BATON_METRICS_TOKEN": "metrics-0123456789abcdef"])
        defer { worker.stop() }
        var found: String?
        try await waitUntil(timeout: 30, "the metrics port") {
            found = worker.output.split(separator: "\n").first { $0.hasPrefix("metrics on ") }.map { String($0.dropFirst(11)) }
            return found != nil || !worker.process.isRunning
        }
        let metrics = try #require(found)
        func get(_ target: String, token: String? = nil) async throws -> Int {
            var request = URLRequest(url: URL(string: target)!)
            if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
            return (try await URLSession.shared.data(for: request).1 as! HTTPURLResponse).statusCode
        }
        #expect(try await get(metrics) == 401)
        #expect(try await get(metrics, token: "metrics-0123456789abcdef") == 200)
        #expect(try await get(metrics.replacingOccurrences(of: "/metrics", with: "/healthz")) == 200, "probes need no token")
    }
}

/// Answers every request with `302 Location: location` and counts them.
final class RedirectServer: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let counter = NSLock()
    private var count = 0
    var hits: Int { counter.lock(); defer { counter.unlock() }; return count }

    init(location: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }
                var buffer = [UInt8](repeating: 0, count: 65_536)
                _ = read(client, &buffer, buffer.count)
                counter.lock(); count += 1; counter.unlock()
                let response = "HTTP/1.1 302 Found\r\nLocation: \(location)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                _ = response.withCString { write(client, $0, strlen($0)) }
                close(client)
            }
        }
        thread.start()
    }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}
