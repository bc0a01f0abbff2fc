import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// The console's operating screens over HTTP: what a logged-in person sees and may do.
extension SecurityTests {
    /// Logs in to the console of `api` with `secret`; returns the session cookie and its CSRF token.
    func logIn(_ api: SecuredAPI, _ secret: String, origin: String) async throws -> (cookie: String, csrf: String) {
        let page = try await api.call("GET", "/console/login")
        let pre = try #require(page.headers["set-cookie"].map { String($0.split(separator: ";")[0]) })
        let login = try await api.call("POST", "/console/login", form: [("token", secret), ("csrf", Self.field("csrf", in: page.text) ?? "")],
                                       headers: ["Origin": origin, "Cookie": pre])
        let cookie = String(try #require(login.headers["set-cookie"]).split(separator: ";")[0])
        let jobs = try await api.call("GET", "/console/jobs", headers: ["Cookie": cookie])
        return (cookie, try #require(Self.field("csrf", in: jobs.text)))
    }

    @Test("console operations: every new form needs the CSRF token; the jobs page filters and counts; bulk kill acts on the whole filter; the log endpoint follows; another project's jobs stay out of sight; fetch is allowed only to the console itself")
    func consoleOperations() async throws {
        let (url, a, _) = try await twoProjects("sec_console_ops")
        let jobs = try await Store.withStore(url: url, logger: logger) { store -> [Job] in
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, project: a, id: idle, executor: {type: noop}}
                - {kind: configuration, project: a, component: idle, id: c}
                - {kind: configuration, project: a, component: idle, id: other}
                - {kind: component, project: b, id: idle, executor: {type: noop}}
                - {kind: configuration, project: b, component: idle, id: c}
                """), store: store)
            let jobs = try await store.createJobs(projectId: "a", componentId: "idle", configId: "c", count: 60)
            _ = try await store.createJobs(projectId: "a", componentId: "idle", configId: "other")
            _ = try await store.createJobs(projectId: "b", componentId: "idle", configId: "c", count: 2)
            try await store.appendEvents((1...30).map { NewEvent(jobId: jobs[0].id, stream: .stdout, message: "said \($0)") })
            return jobs
        }
        let origin = "http://127.0.0.1"
        let api = try await SecuredAPI(databaseURL: url, arguments: ["--public-url", origin])
        let (cookie, csrf) = try await logIn(api, a, origin: origin)
        let headers = ["Cookie": cookie, "Origin": origin]

        let page = try await api.call("GET", "/console/jobs?config=c&status=waiting", headers: ["Cookie": cookie])
        #expect(page.status == 200)
        #expect(page.text.contains("id=\"tab-waiting\"") && page.text.contains("<span class=\"count\">59</span>"), "59 jobs wait behind the first")
        #expect(page.text.contains("Kill 59 matching"), "the bulk kill names how many it kills")
        #expect(page.headers["content-security-policy"]?.contains("connect-src 'self'") == true)
        #expect(page.text.contains("id=\"older\""), "59 jobs are more than a page")

        let waiting = try await api.call("GET", "/console/jobs/\(jobs[1].id)", headers: ["Cookie": cookie])
        #expect(waiting.text.contains("id=\"holder\">\(jobs[0].id)</a> of the same configuration"), "a waiting job says which job it waits for")

        // Every console form refuses a post without the session's CSRF token.
        for route in Console.routes where route.method == .post && route.path != "/console/login" && route.path != "/console/logout" {
            let path = route.path.replacingOccurrences(of: "{id}", with: String(jobs[0].id))
            let forged = try await api.call("POST", path, form: [("config", "c"), ("component", "idle")], headers: headers)
            #expect(forged.status == 403, "\(route.path) without a CSRF token: \(forged.status)")
        }
        #expect(try await Store.withStore(url: url, logger: logger) { try await $0.pauses(projectId: "a") }.isEmpty)

        let kill = try await api.call("POST", "/console/jobs/kill", form: [("csrf", csrf), ("config", "c"), ("status", "waiting")], headers: headers)
        #expect(kill.status == 303 && kill.headers["location"] == "/console/jobs?config=c&killed=59&status=waiting", "\(kill.headers)")
        let counts = try await Store.withStore(url: url, logger: logger) { store in
            (try await store.jobCounts(JobFilter(projectId: "a")), try await store.jobCounts(JobFilter(projectId: "b")))
        }
        #expect(counts.0[.cancelled] == 59 && counts.0[.created] == 2 && counts.1[.created] == 1 && counts.1[.waiting] == 1)

        let pause = try await api.call("POST", "/console/pauses", form: [("csrf", csrf), ("component", "idle"), ("config", "other")], headers: headers)
        #expect(pause.status == 303 && pause.headers["location"] == "/console/fleet")
        let fleet = try await api.call("GET", "/console/fleet", headers: ["Cookie": cookie])
        #expect(fleet.text.contains("configuration a/idle/other") && fleet.text.contains("<span class=\"reason\">paused</span>"), "the fleet page shows the pause and why its job waits")

        let tail = try await api.call("GET", "/console/jobs/\(jobs[0].id)/events?after=0", headers: ["Cookie": cookie])
        #expect(tail.json["events"].map { if case .array(let items) = $0 { items.count } else { 0 } } == 30 && tail.json["status"]?.stringValue == "created")
        let text = try await api.call("GET", "/console/jobs/\(jobs[0].id)/log.txt", headers: ["Cookie": cookie])
        #expect(text.headers["content-disposition"]?.contains("job-\(jobs[0].id).log") == true && text.text.split(separator: "\n").count == 30)

        // Project b's jobs: neither the list, nor the log, nor a bulk kill reaches them.
        let bJob = try await Store.withStore(url: url, logger: logger) { try await $0.jobs(JobFilter(projectId: "b"))[0] }
        #expect(try await api.call("GET", "/console/jobs/\(bJob.id)/events", headers: ["Cookie": cookie]).status == 404)
        #expect(!(try await api.call("GET", "/console/jobs?q=\(bJob.id)", headers: ["Cookie": cookie])).text.contains("href=\"/console/jobs/\(bJob.id)\""))
    }
}
