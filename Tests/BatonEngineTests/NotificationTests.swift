import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Notifications end to end: real coordinators and workers, a webhook receiver on loopback, and
/// aiosmtpd (from PyPI) as the SMTP server.
@Suite("notifications", .serialized)
struct NotificationTests {
    let logger = TestPostgres.shared.logger
    static let secret = "whsec-0123456789abcdef"

    func setUp(_ name: String, channel: String) async throws -> String {
        let url = try await TestPostgres.shared.makeDatabase(name)
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, id: ok, executor: {type: noop}}
                - {kind: component, id: broken, executor: {type: fail}}
                - {kind: configuration, component: ok, id: extract}
                - {kind: configuration, component: broken, id: transform}
                - kind: orchestration
                  id: fragile
                  phases: [{id: 1, name: Extract}, {id: 2, name: Transform, dependsOn: [1]}]
                  tasks:
                    - {id: e, name: Extract orders, phase: 1, task: {componentId: ok, configId: extract}}
                    - {id: t, name: Transform orders, phase: 2, task: {componentId: broken, configId: transform}}
                - {kind: notification, id: on-call, orchestration: fragile, events: [job-failed], channel: \(channel)}
                """), store: store)
        }
        return url
    }

    func outbox(_ store: Store) async throws -> [NotificationRow] {
        try await store.notifications(projectId: "default").sorted { $0.id < $1.id }
    }

    @Test("one signed webhook per failed run, even when the coordinator is SIGKILLed between the status change and delivery")
    func webhookSurvivesKill() async throws {
        let receiver = try TestHTTPServer(status: 503, body: "not yet")
        let url = try await setUp("notify_webhook", channel: "{type: webhook, url: '\(receiver.url)', secret: \(Self.secret), timeoutSeconds: 2}")
        let worker = try BatonProcess(["worker", "--concurrency", "4"], databaseURL: url)
        defer { _ = worker.stop() }
        let first = try BatonProcess(["coordinator", "--outbound-allow", "127.0.0.1", "--coordinator-id", "first", "--notification-retry-seconds", "2"], databaseURL: url)
        try await Store.withStore(url: url, logger: logger) { store in
            var runs: [Int64] = []
            for _ in 0..<3 {
                runs.append(try await Orchestrations.run(store: store, projectId: "default", id: "fragile", only: [], exclude: [], initializedBy: "api").id)
            }
            // A run started by hand without an owner address notifies nobody.
            let manual = try await Orchestrations.run(store: store, projectId: "default", id: "fragile", only: [], exclude: [])
            let ended = try await store.waitForFinal(runs + [manual.id])
            #expect(ended.allSatisfy { $0.status == .error })

            // The receiver answers 503, so the first coordinator has tried and failed: each run's
            // status changed and its notification is written but not delivered. Kill it there.
            try await waitUntil(timeout: 60, "every notification attempted once") {
                let rows = try await outbox(store)
                return rows.count == 3 && rows.allSatisfy { $0.attempts >= 1 && $0.lastError != nil }
            }
            kill(first.process.processIdentifier, SIGKILL)
            first.process.waitUntilExit()
            let before = try await outbox(store)
            #expect(before.allSatisfy { $0.deliveredTime == nil }, "killed before any delivery")
            #expect(Set(before.map(\.jobId)) == Set(runs), "one notification per failed run, none for the manual run")

            receiver.status = 200
            let second = try BatonProcess(["coordinator", "--outbound-allow", "127.0.0.1", "--coordinator-id", "second", "--notification-retry-seconds", "2"], databaseURL: url)
            defer { _ = second.stop() }
            try await waitUntil(timeout: 90, "every notification delivered") {
                try await outbox(store).allSatisfy { $0.deliveredTime != nil }
            }
            let accepted = receiver.all.filter { $0.status == 200 }
            #expect(accepted.count == 3, "exactly one accepted notification per failed run, got \(accepted.count)")
            #expect(Set(accepted.compactMap { $0.headers["x-baton-notification-id"] }) == Set(before.map { String($0.id) }))
            for request in receiver.all {
                let timestamp = try #require(request.headers["x-baton-timestamp"])
                let expected = "sha256=" + Notifier.signature(secret: Self.secret, timestamp: timestamp, body: Data(request.body.utf8))
                #expect(request.headers["x-baton-signature"] == expected, "signature of \(request.body.prefix(80))")
                #expect(request.headers["x-baton-event"] == "job-failed")
            }
            var notified: Set<Int64> = []
            for request in accepted {
                let body = try JSONValue.parse(request.body)
                #expect(body["event"]?.stringValue == "job-failed")
                #expect(body["job"]?["status"]?.stringValue == "error")
                #expect(body["failedTasks"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Transform orders"])
                if let id = body["job"]?["id"]?.stringValue.flatMap(Int64.init) { notified.insert(id) }
            }
            #expect(notified == Set(runs))

            // What an operator sees: each delivered, after the failed attempts against the 503.
            let listed = try BatonProcess.run(["notifications", "list", "--job", String(runs[0]), "--json"], databaseURL: url)
            #expect(listed.status == 0)
            let rows = try #require(try JSONValue.parse(listed.output).arrayValue)
            #expect(rows.count == 1 && rows[0]["state"]?.stringValue == "delivered" && (rows[0]["attempts"]?.numberValue ?? 0) >= 2)
        }
    }

    @Test("an email reaches the SMTP server with the run's status, link and failed tasks; a manual run tells only the token's owner")
    func emailThroughSMTP() async throws {
        // aiosmtpd's Mailbox handler makes the maildir (with its tmp/, new/ and cur/) when it does not exist.
        let maildir = FileManager.default.temporaryDirectory.appendingPathComponent("baton-mail-\(UUID().uuidString)").path
        let port = try freePort()
        let sink = try TestPython.start(try TestPython.python(), ["-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)", "-c", "aiosmtpd.handlers.Mailbox", maildir])
        defer { kill(sink.processIdentifier, SIGKILL); sink.waitUntilExit() } // aiosmtpd ignores SIGTERM
        try await waitUntil(timeout: 30, "aiosmtpd listening") { canConnect(port: port) }

        let url = try await setUp("notify_email", channel: "{type: email, address: ops@example.com}")
        let worker = try BatonProcess(["worker", "--concurrency", "4"], databaseURL: url)
        defer { _ = worker.stop() }
        let coordinator = try BatonProcess(["coordinator", "--smtp-host", "127.0.0.1", "--smtp-port", "\(port)",
                                            "--smtp-from", "baton@example.com", "--console-url", "https://baton.example.com/"], databaseURL: url)
        defer { _ = coordinator.stop() }
        try await Store.withStore(url: url, logger: logger) { store in
            let (token, _) = try await store.createToken(projectId: "default", scope: .admin, description: "Ana", ownerEmail: "ana@example.com")
            let scheduled = try await Orchestrations.run(store: store, projectId: "default", id: "fragile", only: [], exclude: [], initializedBy: "schedule")
            let manual = try await Orchestrations.run(store: store, projectId: "default", id: "fragile", only: [], exclude: [], tokenId: token.id)
            _ = try await store.waitForFinal([scheduled.id, manual.id])
            do {
                try await waitUntil(timeout: 60, "both emails delivered") {
                    let rows = try await outbox(store)
                    return rows.count == 2 && rows.allSatisfy { $0.deliveredTime != nil }
                }
            } catch {
                Issue.record("outbox: \(try await outbox(store).map(\.json.jsonText)); coordinator: \(coordinator.output.suffix(2000))")
                throw error
            }
            let rows = try await outbox(store)
            #expect(rows.map(\.target) == ["ops@example.com", "ana@example.com"])
            #expect(rows.map(\.jobId) == [scheduled.id, manual.id])

            let files = try FileManager.default.contentsOfDirectory(atPath: maildir + "/new")
            let messages = try files.map { try String(contentsOfFile: maildir + "/new/" + $0, encoding: .utf8) }
            #expect(messages.count == 2)
            let ops = try #require(messages.first { $0.contains("To: ops@example.com") })
            #expect(ops.contains("From: baton@example.com"))
            #expect(ops.contains("Subject: [Baton] orchestration fragile, run \(scheduled.id) failed"))
            #expect(ops.contains("Status:    error"))
            #expect(ops.contains("Link:      https://baton.example.com/console/jobs/\(scheduled.id)"))
            #expect(ops.contains("Failed tasks:") && ops.contains("- Transform orders [t] broken/transform: job "))
            let ana = try #require(messages.first { $0.contains("To: ana@example.com") })
            #expect(ana.contains("run \(manual.id) failed") && ana.contains("to the owner of the token that started the run"))
        }
    }

    @Test("a run far over its usual duration and a run waiting too long are each told of once")
    func longRuns() async throws {
        let receiver = try TestHTTPServer(status: 200, body: "ok")
        let flag = FileManager.default.temporaryDirectory.appendingPathComponent("baton-quick-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: flag, contents: Data())
        let url = try await TestPostgres.shared.makeDatabase("notify_long", applying: """
                - {kind: component, id: step, executor: {type: process, command: ["sh", "-c", "[ -f \(flag) ] || sleep 30"]}}
                - {kind: configuration, component: step, id: s}
                - kind: orchestration
                  id: steady
                  phases: [{id: 1, name: One}]
                  tasks: [{id: s, name: Step, phase: 1, task: {componentId: step, configId: s}}]
                - kind: notification
                  id: slow
                  orchestration: steady
                  events: [job-processing-long, job-waiting-long]
                  processingLongPercent: 100
                  waitingLongMinutes: 0.05
                  channel: {type: webhook, url: '\(receiver.url)', secret: \(Self.secret)}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
        }
        let worker = try BatonProcess(["worker"], databaseURL: url)
        defer { _ = worker.stop() }
        let coordinator = try BatonProcess(["coordinator", "--outbound-allow", "127.0.0.1"], databaseURL: url)
        defer { _ = coordinator.stop() }
        try await Store.withStore(url: url, logger: logger) { store in
            // History: one quick successful run. Then the step sleeps: the next run is long, and
            // the one after it waits behind it (runs of one orchestration queue).
            let quick = try await Orchestrations.run(store: store, projectId: "default", id: "steady", only: [], exclude: [], initializedBy: "api")
            #expect(try await store.waitForFinal([quick.id]).first?.status == .success)
            try FileManager.default.removeItem(atPath: flag)
            let long = try await Orchestrations.run(store: store, projectId: "default", id: "steady", only: [], exclude: [], initializedBy: "api")
            let queued = try await Orchestrations.run(store: store, projectId: "default", id: "steady", only: [], exclude: [], initializedBy: "api")
            try await waitUntil(timeout: 30, "both events delivered") {
                Set(receiver.all.compactMap { $0.headers["x-baton-event"] }) == ["job-processing-long", "job-waiting-long"]
            }
            // A few more passes of the coordinator's 2.5 s check: nothing is told twice.
            try await Task.sleep(for: .seconds(6))
            let events = receiver.all.compactMap { request -> String? in
                guard let body = try? JSONValue.parse(request.body) else { return nil }
                return "\(body["event"]?.stringValue ?? "?") \(body["job"]?["id"]?.stringValue ?? "?")"
            }
            #expect(events.sorted() == ["job-processing-long \(long.id)", "job-waiting-long \(queued.id)"])
            _ = try await store.killJob(id: queued.id)
            _ = try await store.killJob(id: long.id)
        }
    }

    // MARK: - helpers

    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
