import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// Finding jobs, acting on many at once, pausing, the queue: the API operations behind the
/// console's jobs and fleet pages.
extension APITests {
    @Test("search by status, configuration, orchestration, initializedBy and run id; counts by status agree with the search")
    func searchAndCounts() async throws {
        let (url, secrets, _) = try await setUp("apisearch")
        let api = try await LiveAPI(databaseURL: url)
        let admin = secrets["a admin"]
        var ones: [String] = []
        for _ in 0..<3 { ones.append(try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "quick", "config": "one"]).body["id"]!.string!) }
        let two = try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "quick", "config": "two"]).body["id"]!.string!
        let run = try await api.call("POST", "/v1/orchestrations/flow/jobs", token: admin).body["id"]!.string!
        _ = try await api.call("POST", "/v1/jobs", token: secrets["b admin"], body: ["component": "quick", "config": "one"])
        _ = try await api.call("POST", "/v1/jobs/\(ones[0])/kill", token: admin)

        let byConfig = try await api.call("GET", "/v1/jobs?config=one&status=cancelled", token: admin)
        #expect(byConfig.body.items.map { $0["id"]?.string } == [ones[0]], "\(byConfig.text)")
        let waiting = try await api.call("GET", "/v1/jobs?config=one&status=created,waiting&sortOrder=asc", token: admin)
        #expect(waiting.body.items.map { $0["id"]?.string } == [ones[1], ones[2]])
        #expect(try await api.call("GET", "/v1/jobs?q=\(two)", token: admin).body.items.map { $0["id"]?.string } == [two])
        #expect(try await api.call("GET", "/v1/jobs?orchestration=flow", token: admin).body.items.map { $0["id"]?.string } == [run])
        #expect(try await api.call("GET", "/v1/jobs?initializedBy=schedule", token: admin).body.items.isEmpty)
        #expect(try await api.call("GET", "/v1/jobs?initializedBy=api", token: admin).body.items.count == 5)

        let counts = try await api.call("GET", "/v1/jobs/counts?component=quick", token: admin)
        #expect(counts.status == 200 && counts.body["cancelled"] == .number(1) && counts.body["total"] == .number(4), "\(counts.text)")
        #expect(try await api.call("GET", "/v1/jobs/counts", token: admin).body["total"] == .number(5), "b's job is not counted")

        for (query, field) in [("q=1;drop", "q"), ("initializedBy=cron", "initializedBy"), ("status=running", "status")] {
            let bad = try await api.call("GET", "/v1/jobs/counts?\(query)", token: admin)
            #expect(bad.status == 400 && bad.field == field, "\(query): \(bad.text)")
        }
    }

    @Test("bulk kill: every matching unfinished job, over several calls when over the limit; other configurations and projects untouched; an empty filter is refused")
    func bulkKill() async throws {
        let (url, secrets, _) = try await setUp("apibulkkill")
        let api = try await LiveAPI(databaseURL: url)
        let admin = secrets["a admin"]
        let made = try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "quick", "config": "one"])
        #expect(made.status == 201)
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await store.createJobs(projectId: "a", componentId: "quick", configId: "one", count: 59)
            _ = try await store.createJobs(projectId: "a", componentId: "quick", configId: "two", count: 3)
            _ = try await store.createJobs(projectId: "b", componentId: "quick", configId: "one", count: 3)
        }
        let empty = try await api.call("POST", "/v1/jobs/kill", token: admin, body: [:])
        #expect(empty.status == 400 && empty.field == "body")
        #expect(try await api.call("POST", "/v1/jobs/kill", token: secrets["a read"], body: ["config": "one"]).status == 403)
        let first = try await api.call("POST", "/v1/jobs/kill", token: admin, body: ["component": "quick", "config": "one", "limit": 50])
        #expect(first.status == 200 && first.body["killed"] == .number(50) && first.body["remaining"] == .number(10), "\(first.text)")
        #expect(first.body["jobs"]?.items.first?["id"]?.string == made.body["id"]?.string, "oldest first")
        let second = try await api.call("POST", "/v1/jobs/kill", token: admin, body: ["config": "one"])
        #expect(second.body["killed"] == .number(10) && second.body["remaining"] == .number(0), "\(second.text)")
        let counts = try await api.call("GET", "/v1/jobs/counts", token: admin)
        #expect(counts.body["cancelled"] == .number(60) && counts.body["total"] == .number(63), "the 3 jobs of config two are left: \(counts.text)")
        #expect(try await api.call("GET", "/v1/jobs/counts", token: secrets["b admin"]).body["cancelled"] == .number(0))
    }

    @Test("pause a configuration: its queued jobs wait with reason paused and new ones too; resume queues them again; scope errors name the field")
    func pauseAndResume() async throws {
        let (url, secrets, _) = try await setUp("apipause")
        let api = try await LiveAPI(databaseURL: url)
        let admin = secrets["a admin"]
        let queued = try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "quick", "config": "one"]).body["id"]!.string!
        let paused = try await api.call("PUT", "/v1/pauses", token: admin, body: ["component": "quick", "config": "one"])
        #expect(paused.status == 201 && paused.body["jobsHeld"] == .number(1) && paused.body["scope"]?.string == "configuration a/quick/one", "\(paused.text)")
        #expect(try await api.call("PUT", "/v1/pauses", token: admin, body: ["component": "quick", "config": "one"]).status == 200, "pausing again changes nothing")
        let later = try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "quick", "config": "one"])
        #expect(later.body["status"]?.string == "waiting" && later.body["waitingReason"]?.string == "paused", "\(later.text)")
        let other = try await api.call("POST", "/v1/jobs", token: admin, body: ["component": "quick", "config": "two"])
        #expect(other.body["status"]?.string == "created")
        #expect(try await api.call("GET", "/v1/jobs/\(queued)", token: admin).body["waitingReason"]?.string == "paused")
        let list = try await api.call("GET", "/v1/pauses", token: secrets["a read"])
        #expect(list.body.items.count == 1 && list.body.items[0]["waitingJobs"] == .number(2), "\(list.text)")
        #expect(try await api.call("GET", "/v1/pauses", token: secrets["b admin"]).body.items.isEmpty, "b sees none of a's pauses")
        let queue = try await api.call("GET", "/v1/queue", token: admin)
        #expect(queue.body["groups"]?.items.contains { $0["waitingReason"]?.string == "paused" && $0["count"] == .number(2) } == true, "\(queue.text)")

        let noComponent = try await api.call("PUT", "/v1/pauses", token: admin, body: ["config": "one"])
        #expect(noComponent.status == 400 && noComponent.field == "component")
        #expect(try await api.call("DELETE", "/v1/pauses?component=quick", token: admin).status == 404, "only the configuration is paused")
        #expect(try await api.call("DELETE", "/v1/pauses?component=quick&config=one", token: secrets["a read"]).status == 403)
        let resumed = try await api.call("DELETE", "/v1/pauses?component=quick&config=one", token: admin)
        #expect(resumed.status == 200 && resumed.body["jobsReleased"] == .number(2), "\(resumed.text)")
        let statuses = try await api.call("GET", "/v1/jobs?config=one&sortOrder=asc", token: admin).body.items.map { "\($0["status"]?.string ?? "")/\($0["waitingReason"]?.string ?? "")" }
        #expect(statuses == ["created/", "waiting/configuration-lock"], "the first is queued, the second waits behind it")
    }

    @Test("retry the failed runs matching a filter once each; the log's tail, earlier lines and events after an id; schedules switch and run now")
    func retryTailAndSchedules() async throws {
        let (url, secrets, _) = try await setUp("apiretrytail")
        let api = try await LiveAPI(databaseURL: url)
        let admin = secrets["a admin"]
        let failed = try await Store.withStore(url: url, logger: logger) { store -> [Int64] in
            var failed: [Int64] = []
            for _ in 0..<2 {
                let job = try await store.createJobs(projectId: "a", componentId: "quick", configId: "two")[0]
                _ = try await store.killJob(id: job.id)
                failed.append(job.id)
            }
            _ = try await Apply.apply(try Documents.parse("- {kind: schedule, project: a, id: nightly, orchestration: flow, cron: '0 3 * * *'}"), store: store)
            try await store.appendEvents((1...1200).map { NewEvent(jobId: failed[0], stream: $0 % 100 == 0 ? .stderr : .stdout, message: "line \($0)") })
            return failed
        }
        let retry = try await api.call("POST", "/v1/jobs/retry", token: admin, body: ["status": "cancelled", "config": "two"])
        #expect(retry.status == 200 && retry.body["retried"] == .number(2), "\(retry.text)")
        #expect(retry.body["jobs"]?.items.map { $0["previousJobId"]?.string } == failed.map { String($0) })
        let again = try await api.call("POST", "/v1/jobs/retry", token: admin, body: ["status": "cancelled", "config": "two"])
        #expect(again.body["retried"] == .number(0), "a retried job is not retried twice: \(again.text)")
        #expect(try await api.call("POST", "/v1/jobs/retry", token: admin, body: ["status": "waiting"]).field == "status")

        let tail = try await api.call("GET", "/v1/jobs/\(failed[0])/events?from=end&limit=200", token: admin)
        #expect(tail.body.items.count == 200 && tail.body.items.first?["message"]?.string == "line 1001" && tail.body.items.last?["message"]?.string == "line 1200")
        let firstId = tail.body.items[0]["id"]!.string!
        let earlier = try await api.call("GET", "/v1/jobs/\(failed[0])/events?from=end&limit=200&before=\(firstId)", token: admin)
        #expect(earlier.body.items.last?["message"]?.string == "line 1000")
        let after = try await api.call("GET", "/v1/jobs/\(failed[0])/events?after=\(tail.body.items[198]["id"]!.string!)", token: admin)
        #expect(after.body.items.map { $0["message"]?.string } == ["line 1200"])
        let stderr = try await api.call("GET", "/v1/jobs/\(failed[0])/events?stream=stderr", token: admin)
        #expect(stderr.body.items.count == 12)

        let disabled = try await api.call("POST", "/v1/schedules/nightly/disable", token: admin)
        #expect(disabled.status == 200 && disabled.body["enabled"] == .bool(false) && disabled.body["nextFireTime"] == .null, "\(disabled.text)")
        #expect(try await api.call("POST", "/v1/schedules/nightly/enable", token: admin).body["enabled"] == .bool(true))
        let now = try await api.call("POST", "/v1/schedules/nightly/run", token: admin)
        #expect(now.status == 201 && now.body["config"]?.string == "flow", "\(now.text)")
        #expect(try await api.call("POST", "/v1/schedules/nope/run", token: admin).status == 404)
    }
}
