import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

@Suite("schedules and notifications over HTTP")
struct ScheduleAPITests {
    let logger = TestPostgres.shared.logger

    @Test("the API lists schedules with the next fire time in UTC; the console shows it in UTC and marks it for the viewer's local time; a run's notifications are listed")
    func schedulesAndNotifications() async throws {
        let url = try await TestPostgres.shared.makeDatabase("schedule_api")
        let (admin, trigger, run) = try await Store.withStore(url: url, logger: logger) { store -> (String, String, Job) in
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, id: broken, executor: {type: fail}}
                - {kind: configuration, component: broken, id: x}
                - kind: orchestration
                  id: nightly
                  phases: [{id: 1, name: One}]
                  tasks: [{id: x, name: X, phase: 1, task: {componentId: broken, configId: x}}]
                - {kind: schedule, id: at-seven, orchestration: nightly, cron: "0 7 * * *", onOverlap: skip}
                - {kind: schedule, id: paused, orchestration: nightly, cron: "*/5 * * * *", enabled: false}
                - {kind: notification, id: ops, events: [job-failed], channel: {type: email, address: ops@example.com}}
                """), store: store)
            let (_, admin) = try await store.createToken(projectId: "default", scope: .admin, description: "ops")
            let (_, trigger) = try await store.createToken(projectId: "default", scope: .trigger(orchestrationId: "nightly"), description: "ci")
            let run = try await Orchestrations.run(store: store, projectId: "default", id: "nightly", only: [], exclude: [], initializedBy: "api")
            return (admin, trigger, run)
        }
        let worker = try BatonProcess(["worker"], databaseURL: url)
        defer { _ = worker.stop() }
        let coordinator = try BatonProcess(["coordinator"], databaseURL: url) // no SMTP server: the email stays pending
        defer { _ = coordinator.stop() }
        let api = try await LiveAPI(databaseURL: url)

        let reply = try await api.call("GET", "/v1/schedules", token: admin)
        #expect(reply.status == 200)
        let list = try #require(reply.body.arrayValue)
        #expect(list.compactMap { $0["id"]?.stringValue } == ["at-seven", "paused"])
        let next = try #require(list[0]["nextFireTime"]?.stringValue)
        let expected = try #require(try CronExpression("0 7 * * *").next(after: Date()))
        #expect(next == Job.formatTime(expected), "the next 07:00 UTC")
        #expect(list[0]["onOverlap"]?.stringValue == "skip" && list[1]["nextFireTime"] == .null)
        #expect(try await api.call("GET", "/v1/schedules", token: trigger).status == 403)

        var browser = Browser(base: api.base)
        _ = try await browser.go("GET", "/console/login")
        let login = try await browser.go("POST", "/console/login", form: [("token", admin)])
        browser.cookie = String(try #require(login.setCookie).split(separator: ";")[0])
        let page = try await browser.go("GET", "/console/orchestrations/nightly")
        #expect(page.html.contains("<h2>Schedules</h2>"))
        #expect(page.html.contains("<time class=\"local\" datetime=\"\(next)\">\(utc(expected))</time>"), "UTC, with the instant for the local-time script")
        #expect(page.html.contains("toLocaleString"))

        try await Store.withStore(url: url, logger: logger) { store in _ = try await store.waitForFinal([run.id]) }
        try await waitUntil(timeout: 30, "the run's notification") {
            try await api.call("GET", "/v1/jobs/\(run.id)/notifications", token: admin).body.arrayValue?.count == 1
        }
        let notification = try #require(try await api.call("GET", "/v1/jobs/\(run.id)/notifications", token: admin).body.arrayValue?.first)
        #expect(notification["event"]?.stringValue == "job-failed" && notification["target"]?.stringValue == "ops@example.com")
        #expect(notification["subscription"]?.stringValue == "ops")
    }

    func utc(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d UTC", c.year!, c.month!, c.day!, c.hour!, c.minute!)
    }
}
