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

/// Does not follow redirects, so a test sees each 303 and its Location.
final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

/// A client that acts like a browser on the console's own pages: it keeps the cookies it is
/// given, sends the console's origin with every form, and fills in the CSRF token of the last
/// page it saw (as a form on that page would).
struct Browser {
    let base: String
    var cookie: String?
    var jar: [String: String] = [:]
    var csrf: String?
    let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        configuration.httpCookieStorage = nil
        return URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
    }()

    init(base: String, cookie: String? = nil) {
        self.base = base
        self.cookie = cookie
    }

    struct Page { var status: Int; var html: String; var location: String?; var setCookie: String? }

    mutating func go(_ method: String, _ path: String, form: [(String, String)] = []) async throws -> Page {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        let cookies = jar.filter { $0.key != "baton_session" || cookie == nil }.map { "\($0.key)=\($0.value)" } + (cookie.map { [$0] } ?? [])
        if !cookies.isEmpty { request.setValue(cookies.joined(separator: "; "), forHTTPHeaderField: "Cookie") }
        if method == "POST" {
            var fields = form
            if let csrf, !fields.contains(where: { $0.0 == "csrf" }) { fields.append(("csrf", csrf)) }
            let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
            request.httpBody = Data(fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&").utf8)
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.setValue(base, forHTTPHeaderField: "Origin")
        }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        let html = String(decoding: data, as: UTF8.self)
        if let range = html.range(of: "name=\"csrf\" value=\"") { csrf = String(html[range.upperBound...].prefix { $0 != "\"" }) }
        let setCookie = http.value(forHTTPHeaderField: "Set-Cookie")
        for field in (setCookie ?? "").components(separatedBy: ", ") {
            guard let first = field.split(separator: ";").first else { continue }
            let pair = first.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count >= 1, !pair[0].isEmpty else { continue }
            if pair.count == 2, !pair[1].isEmpty, !field.contains("Max-Age=0") { jar[pair[0]] = pair[1] } else { jar[pair[0]] = nil }
        }
        return Page(status: http.statusCode, html: html, location: http.value(forHTTPHeaderField: "Location"), setCookie: setCookie)
    }

    /// Whether the page has a checked (or unchecked) checkbox for task `id`.
    static func checkbox(_ html: String, _ id: String) -> Bool? {
        guard let range = html.range(of: "name=\"task\" value=\"\(id)\"") else { return nil }
        let rest = html[range.upperBound...].prefix { $0 != ">" }
        return rest.contains("checked")
    }
}

@Suite("web console", .serialized)
struct ConsoleTests {
    let logger = TestPostgres.shared.logger

    @Test("log in with a token, run an orchestration with a task unchecked, watch it end, open the job with its timeline, retry with the failed phases pre-checked")
    func runAndRetry() async throws {
        let url = try await TestPostgres.shared.makeDatabase("console")
        let flag = FileManager.default.temporaryDirectory.appendingPathComponent("baton-console-\(UUID().uuidString)").path
        let (admin, other) = try await Store.withStore(url: url, logger: logger) { store -> (String, String) in
            try await store.createProject(id: "b", name: "B", maxParallelJobs: 10)
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, id: ok, executor: {type: noop}}
                - {kind: configuration, component: ok, id: load}
                - {kind: configuration, component: ok, id: report}
                - {kind: configuration, component: ok, id: extra}
                - {kind: component, id: check, executor: {type: process, command: ["test", "-f", "\(flag)"]}}
                - {kind: configuration, component: check, id: transform}
                - kind: orchestration
                  id: daily
                  name: Daily
                  phases: [{id: 1, name: Extract}, {id: 2, name: Transform}, {id: 3, name: Report}]
                  tasks:
                    - {id: load, name: Load, phase: 1, task: {componentId: ok, configId: load}}
                    - {id: extra, name: Extra, phase: 1, task: {componentId: ok, configId: extra}}
                    - {id: transform, name: Transform, phase: 2, task: {componentId: check, configId: transform}}
                    - {id: report, name: Report, phase: 3, task: {componentId: ok, configId: report}}
                - {kind: component, project: b, id: ok, executor: {type: noop}}
                - {kind: configuration, project: b, component: ok, id: theirs}
                """), store: store)
            let (_, secret) = try await store.createToken(projectId: "default", scope: .admin, description: "console")
            let theirs = try await store.createJobs(projectId: "b", componentId: "ok", configId: "theirs")[0]
            return (secret, String(theirs.id))
        }
        let api = try await LiveAPI(databaseURL: url)
        var browser = Browser(base: api.base)

        // Not logged in: to the login page. A wrong token is refused.
        #expect(try await browser.go("GET", "/console/orchestrations").location == "/console/login")
        _ = try await browser.go("GET", "/console/login")
        let wrong = try await browser.go("POST", "/console/login", form: [("token", "baton_wrong")])
        #expect(wrong.status == 401 && wrong.html.contains("That token is not known"))
        let login = try await browser.go("POST", "/console/login", form: [("token", admin)])
        #expect(login.status == 303 && login.location == "/console/orchestrations")
        let cookie = try #require(login.setCookie)
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        browser.cookie = String(cookie.split(separator: ";")[0])

        // The list and the orchestration page.
        let list = try await browser.go("GET", "/console/orchestrations")
        #expect(list.status == 200 && list.html.contains("href=\"/console/orchestrations/daily\">Daily</a>"))
        let orchestration = try await browser.go("GET", "/console/orchestrations/daily")
        #expect(orchestration.html.contains("Extract") && orchestration.html.contains("Not run yet"))

        // The run dialog shows the plan with a checkbox per task; run without "extra".
        let dialog = try await browser.go("GET", "/console/orchestrations/daily/run")
        #expect(["load", "extra", "transform", "report"].allSatisfy { Browser.checkbox(dialog.html, $0) == true })
        let started = try await browser.go("POST", "/console/orchestrations/daily/run",
                                           form: [("task", "load"), ("task", "transform"), ("task", "report")])
        let jobPath = try #require(started.location)
        #expect(started.status == 303 && jobPath.hasPrefix("/console/jobs/"))
        let runId = Int64(jobPath.dropFirst("/console/jobs/".count))!
        let live = try await browser.go("GET", jobPath)
        #expect(live.html.contains("http-equiv=\"refresh\""), "a run in progress refreshes itself")

        let worker = try BatonProcess(["worker", "--poll-seconds", "1"], databaseURL: url)
        let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
        defer { worker.stop(); coordinator.stop() }
        try await Store.withStore(url: url, logger: logger) { store in
            let done = try await store.waitForFinal([runId], timeout: 60)[0]
            #expect(done.status == .error, "transform fails until the flag file exists")
            #expect(Set(try await store.children(of: runId).compactMap(\.orchestrationTaskId)) == ["load", "transform"], "extra was unchecked; report never ran")
        }

        // The job page: phases with their jobs, a timeline, events, no refresh once finished.
        let finished = try await browser.go("GET", jobPath)
        #expect(finished.html.contains("class=\"status error\">error"))
        #expect(finished.html.contains("not-executed"), "the Report phase did not run")
        #expect(finished.html.contains("class=\"tl-bar success\"") && finished.html.contains("class=\"tl-bar error\""))
        #expect(!finished.html.contains("http-equiv=\"refresh\""))
        #expect(finished.html.contains("href=\"/console/jobs/\(runId)/retry\""))
        let listed = try await browser.go("GET", "/console/orchestrations")
        #expect(listed.html.contains("href=\"/console/jobs/\(runId)\"><span class=\"status error\">"), "the list shows the last run")

        // Retry: the failed task and the not-executed phase are pre-checked; the succeeded one is not.
        let retry = try await browser.go("GET", "/console/jobs/\(runId)/retry")
        #expect(Browser.checkbox(retry.html, "load") == false)
        #expect(Browser.checkbox(retry.html, "transform") == true)
        #expect(Browser.checkbox(retry.html, "report") == true)
        _ = FileManager.default.createFile(atPath: flag, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: flag) }
        let retried = try await browser.go("POST", "/console/jobs/\(runId)/retry", form: [("task", "transform"), ("task", "report")])
        let newId = Int64(try #require(retried.location).dropFirst("/console/jobs/".count))!
        try await Store.withStore(url: url, logger: logger) { store in
            let done = try await store.waitForFinal([newId], timeout: 60)[0]
            #expect(done.status == .success && done.previousJobId == runId)
            #expect(Set(try await store.children(of: newId).compactMap(\.orchestrationTaskId)) == ["transform", "report"])
        }

        // Another project's job is not there for this token.
        #expect(try await browser.go("GET", "/console/jobs/\(other)").status == 404)
    }
}
