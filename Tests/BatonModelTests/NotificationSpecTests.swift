import BatonModel
import Foundation
import Testing

@Suite("notification and schedule documents: bad input is refused with the field named")
struct NotificationSpecTests {
    /// An orchestration `nightly` exists; `docs` follow it.
    func issues(_ docs: String) throws -> [DocumentIssue] {
        let documents = try JSONValue.parse(docs).arrayValue ?? []
        switch ApplySet.validate(documents, existing: [:], existingProjects: ["default"],
                                 existingConfigurations: [["default", ExecutorSpec.orchestratorComponentId, "nightly"]]) {
        case .success: return []
        case .failure(let issues): return issues.items
        }
    }

    @Test("a valid webhook and a valid email subscription")
    func valid() throws {
        let documents = try JSONValue.parse("""
            [{"kind": "notification", "id": "hook", "orchestration": "nightly", "events": ["job-failed", "job-processing-long"],
              "processingLongPercent": 25, "channel": {"type": "webhook", "url": "https://hooks.example.com/baton", "secret": "0123456789abcdef"}},
             {"kind": "notification", "id": "mail", "events": ["job-waiting-long"], "waitingLongMinutes": 10,
              "channel": {"type": "email", "address": "ops@example.com"}}]
            """).arrayValue ?? []
        let set = try ApplySet.validate(documents, existing: [:], existingProjects: ["default"],
                                        existingConfigurations: [["default", ExecutorSpec.orchestratorComponentId, "nightly"]]).get()
        #expect(set.notifications.count == 2)
        #expect(set.notifications[0].events == [.failed, .processingLong] && set.notifications[0].processingLongPercent == 25)
        #expect(set.notifications[0].channel == .webhook(url: "https://hooks.example.com/baton", secret: "0123456789abcdef", timeoutSeconds: 10))
        #expect(set.notifications[1].orchestrationId == nil && set.notifications[1].waitingLongMinutes == 10)
        #expect(set.notifications[1].channel == .email(address: "ops@example.com"))
    }

    @Test("an unknown orchestration, event and channel, and a bad cron: each named")
    func refused() throws {
        let found = try issues("""
            [{"kind": "notification", "id": "a", "orchestration": "nope", "events": ["job-failed", "job-exploded"], "channel": {"type": "pager"}},
             {"kind": "schedule", "id": "s", "orchestration": "ghost", "cron": "61 * * * *"}]
            """)
        let fields = found.map { "\($0.document):\($0.field)" }
        #expect(fields == ["1:channel.type", "1:events[1]", "1:orchestration", "2:cron", "2:orchestration"])
        #expect(found.first { $0.field == "events[1]" }?.message.contains("unknown event 'job-exploded'") == true)
        #expect(found.first { $0.field == "channel.type" }?.message.contains("unknown channel 'pager': use webhook or email") == true)
        #expect(found.first { $0.document == 1 && $0.field == "orchestration" }?.message.contains("unknown orchestration 'nope'") == true)
    }

    @Test("a webhook needs a URL and a secret of 16 or more characters; an email one address")
    func channelFields() throws {
        let found = try issues("""
            [{"kind": "notification", "id": "a", "events": ["job-failed"], "channel": {"type": "webhook", "url": "ftp://x", "secret": "short"}},
             {"kind": "notification", "id": "b", "events": [], "channel": {"type": "email", "address": "ops at example"}}]
            """)
        #expect(found.map { "\($0.document):\($0.field)" } == ["1:channel.secret", "1:channel.url", "2:channel.address", "2:events"])
    }

    @Test("failed deliveries are retried after 5, 10, 20 ... seconds and given up after the last attempt")
    func retry() {
        let retry = NotificationRetry(baseSeconds: 5, maxAttempts: 8)
        #expect((1...8).map { retry.delay(afterAttempt: $0) } == [5, 10, 20, 40, 80, 160, 320, nil])
        #expect(NotificationRetry(baseSeconds: 600, maxAttempts: 5).delay(afterAttempt: 3) == 900, "capped at 15 minutes")
    }
}
