import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

@Suite("executors, run by a worker process")
struct ExecutorTests {
    let logger = TestPostgres.shared.logger

    @Test("process: parameters on stdin and in the environment, each output line an event, exit code decides")
    func process() async throws {
        let url = try await TestPostgres.shared.makeDatabase("process", applying: """
                - kind: component
                  id: script
                  executor:
                    type: process
                    command: ["sh", "-c", "echo job=$BATON_JOB_ID run=$BATON_RUN_ID; printenv BATON_PARAMETERS; cat; echo; echo oops >&2; exit $(cat /dev/null; echo $CODE)"]
                    environment: {CODE: "3"}
                - {kind: configuration, component: script, id: fails, parameters: {table: orders}}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            let job = try await store.createJobs(componentId: "script", configId: "fails")[0]
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let done = try await store.waitForFinal([job.id])[0]
            #expect(done.status == .error)
            #expect(done.result?["exitCode"] == 3)
            // stdout and stderr are read separately, so which of them printed last is not fixed.
            #expect(done.result?["message"]?.stringValue?.hasPrefix("sh failed with exit 3: ") == true)
            #expect(done.result?["output"]?.arrayValue?.contains("oops") == true)
            let events = try await store.events(jobId: job.id)
            #expect(events.contains { $0.stream == .stdout && $0.message == "job=\(job.id) run=\(job.runId)" })
            #expect(events.filter { $0.stream == .stdout && $0.message == #"{"table":"orders"}"# }.count == 2)
            #expect(events.contains { $0.stream == .stderr && $0.message == "oops" })
        }
    }

    @Test("process: a command that does not exist ends the job error, and the worker goes on")
    func missingCommand() async throws {
        let url = try await TestPostgres.shared.makeDatabase("missing", applying: """
                - {kind: component, id: ghost, executor: {type: process, command: ["/nonexistent/tool", "--x"]}}
                - {kind: configuration, component: ghost, id: g}
                - {kind: component, id: fine, executor: {type: noop}}
                - {kind: configuration, component: fine, id: f}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let ghost = try await store.createJobs(componentId: "ghost", configId: "g")[0]
            let failed = try await store.waitForFinal([ghost.id])[0]
            #expect(failed.status == .error)
            #expect(failed.result?["message"] == "command not found: /nonexistent/tool")
            let next = try await store.createJobs(componentId: "fine", configId: "f")[0]
            #expect(try await store.waitForFinal([next.id])[0].status == .success)
            #expect(worker.process.isRunning)
        }
    }

    @Test("a worker with --components claims only those; a NOTIFY wakes it without waiting for its poll")
    func componentsAndWakeUp() async throws {
        let url = try await TestPostgres.shared.makeDatabase("components", applying: """
                - {kind: component, id: mine, executor: {type: noop}}
                - {kind: configuration, component: mine, id: m}
                - {kind: component, id: theirs, executor: {type: noop}}
                - {kind: configuration, component: theirs, id: t}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            // Polls only every 120 s: jobs created after it is idle can only start through NOTIFY.
            // A worker announces its rank ('ranks') once its LISTEN is in place: wait for that.
            let worker = try await store.client.withConnection { connection in
                try await connection.listen(on: "baton_jobs") { notifications in
                    let worker = try BatonProcess(["worker", "--components", "mine", "--poll-seconds", "120"], databaseURL: url)
                    for try await notification in notifications where notification.payload == "ranks" { break }
                    return worker
                }
            }
            defer { worker.stop() }
            let theirs = try await store.createJobs(componentId: "theirs", configId: "t")[0]
            let mine = try await store.createJobs(componentId: "mine", configId: "m")[0]
            #expect(try await store.waitForFinal([mine.id], timeout: 30)[0].status == .success)
            #expect(try await store.job(id: theirs.id)?.status == .created)
        }
    }

    @Test("http: parameters POSTed as JSON; 2xx is success, other codes error, body kept capped")
    func http() async throws {
        let url = try await TestPostgres.shared.makeDatabase("http")
        let ok = try TestHTTPServer(status: 200, body: "accepted")
        let broken = try TestHTTPServer(status: 503, body: String(repeating: "x", count: 100))
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, id: hook, executor: {type: http, url: "\(ok.url)"}}
                - {kind: configuration, component: hook, id: h, parameters: {rows: 5}}
                - {kind: component, id: down, executor: {type: http, url: "\(broken.url)", maxResponseBytes: 10}}
                - {kind: configuration, component: down, id: d}
                """), store: store)
            // The receivers listen on 127.0.0.1, which the outbound policy refuses unless allowed.
            let worker = try BatonProcess(["worker", "--outbound-allow", "127.0.0.1"], databaseURL: url)
            defer { worker.stop() }
            let a = try await store.createJobs(componentId: "hook", configId: "h")[0]
            let b = try await store.createJobs(componentId: "down", configId: "d")[0]
            let jobs = Dictionary(uniqueKeysWithValues: try await store.waitForFinal([a.id, b.id]).map { ($0.id, $0) })
            #expect(jobs[a.id]?.status == .success)
            #expect(jobs[a.id]?.result?["body"] == "accepted")
            #expect(ok.received == [#"{"rows":5}"#])
            #expect(jobs[b.id]?.status == .error)
            #expect(jobs[b.id]?.result?["statusCode"] == 503)
            #expect(jobs[b.id]?.result?["body"] == "xxxxxxxxxx")
            #expect(jobs[b.id]?.result?["truncated"] == true)
        }
    }

    @Test("sql: the configuration's SQL runs in one transaction against the target database")
    func sql() async throws {
        let url = try await TestPostgres.shared.makeDatabase("sqlexec")
        let target = try await TestPostgres.shared.makeDatabase("sqltarget", migrate: false)
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await Apply.apply(try Documents.parse("""
                - {kind: component, id: warehouse, executor: {type: sql, target: warehouse}}
                - {kind: configuration, component: warehouse, id: good, parameters: {sql: "CREATE TABLE loaded (x int); INSERT INTO loaded VALUES (1), (2);"}}
                - {kind: configuration, component: warehouse, id: bad, parameters: {sql: "CREATE TABLE half (x int); INSERT INTO missing VALUES (1);"}}
                - {kind: configuration, component: warehouse, id: divides, parameters: {sql: "CREATE TABLE third (x int); SELECT 1 / count(*) FROM pg_class WHERE false;"}}
                """), store: store)
            // The operator names the target: sql jobs reach no other database.
            let worker = try BatonProcess(["worker", "--sql-target", "warehouse=TARGET_URL"], databaseURL: url, environment: ["TARGET_URL": target])
            defer { worker.stop() }
            let good = try await store.createJobs(componentId: "warehouse", configId: "good")[0]
            let bad = try await store.createJobs(componentId: "warehouse", configId: "bad")[0]
            // An error while a query runs (not when it is parsed) fails the job too.
            let divides = try await store.createJobs(componentId: "warehouse", configId: "divides")[0]
            let jobs = Dictionary(uniqueKeysWithValues: try await store.waitForFinal([good.id, bad.id, divides.id]).map { ($0.id, $0) })
            #expect(jobs[good.id]?.status == .success)
            #expect(jobs[bad.id]?.status == .error)
            #expect(jobs[bad.id]?.result?["message"]?.stringValue?.contains("relation \"missing\" does not exist") == true)
            #expect(jobs[divides.id]?.status == .error, "\(String(describing: jobs[divides.id]?.result))")
            #expect(jobs[divides.id]?.result?["message"]?.stringValue?.contains("division by zero") == true)
        }
        try await Store.withStore(url: target, logger: logger) { store in
            var tables: [String] = []
            for try await name in try await store.client.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", logger: logger).decode(String.self) {
                tables.append(name)
            }
            #expect(tables == ["loaded"], "the failed scripts' first statements were rolled back")
        }
    }
}
