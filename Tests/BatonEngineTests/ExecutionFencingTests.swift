import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A job's work never outlives its claim; every job has exactly one outcome; no job's data stops
/// a worker. Each test injects the fault with real processes: a worker killed or frozen, its
/// connection cut, a claim's reply lost, a job that daemonises or ignores SIGTERM, poison output.
///
/// The process jobs here record the physical truth themselves: every process of a job writes its
/// pid to `pids`, and each job takes `flock -n` on its configuration's lock file (held by every
/// descendant that inherits the descriptor): a job that finds it held appends its id to
/// `overlaps`, so two jobs of one configuration alive at once are seen by the kernel's lock.
@Suite("execution fencing: a job's processes end with its claim; no output stops a worker")
struct ExecutionFencingTests {
    let logger = TestPostgres.shared.logger

    /// A folder for one test's job processes to write to.
    struct Scratch {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("baton-fence-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }

        /// A `sh -c` script: take the configuration's lock (or note the overlap), note its pid, then `body`.
        func script(_ body: String) -> String {
            "exec 9>>\(path)/lock; flock -n 9 || echo $BATON_JOB_ID >> \(path)/overlaps; echo $$ >> \(path)/pids; \(body)"
        }

        /// A descendant in a session of its own that also notes its pid and then sleeps: what a daemonising script leaves.
        func daemon(ignoringTERM: Bool = false) -> String {
            "setsid sh -c '\(ignoringTERM ? "trap \"\" TERM; " : "")echo $$ >> \(path)/pids; exec sleep 300' &"
        }

        var pids: [pid_t] {
            ((try? String(contentsOfFile: path + "/pids", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
        }
        var overlaps: [String] {
            ((try? String(contentsOfFile: path + "/overlaps", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        /// The pids still alive (zombies do not count: they hold nothing and run nothing).
        var alive: [pid_t] {
            pids.filter { pid in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                let state = stat[stat.index(close, offsetBy: 2)]
                return state != "Z" && state != "X"
            }
        }
        /// Kills what a failed test left behind.
        func cleanUp() {
            for pid in alive { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// A process component `id` running `script` with sh, and one configuration `c`.
    func component(_ id: String, _ script: String, config: String = "c", timeout: Double? = nil) -> String {
        let command = JSONValue.array(["sh", "-c", .string(script)]).jsonText
        return "- {kind: component, id: \(id), executor: {type: process, command: \(command)}\(timeout.map { ", timeoutSeconds: \($0)" } ?? "")}\n- {kind: configuration, component: \(id), id: \(config)}\n"
    }

    func setUp(_ name: String, _ yaml: String) async throws -> String {
        try await TestPostgres.shared.makeDatabase(name, applying: yaml)
    }

    /// Waits until `id` is final and returns it, checking at that same moment which of the job's
    /// processes are alive: they must all have ended before the coordinator freed the configuration.
    func finalWithProcesses(_ store: Store, _ id: Int64, _ scratch: Scratch, timeout: Double) async throws -> (job: Job, alive: [pid_t]) {
        var job: Job?
        try await waitUntil(timeout: timeout, interval: .milliseconds(20), "job \(id) to be final") {
            job = try await store.job(id: id)
            return job?.status.isFinal == true
        }
        return (job!, scratch.alive)
    }

    @Test("a worker killed alone (SIGKILL, not its group): its job's processes, a daemon included, are gone before the job is rescued; the next job of the configuration never runs beside them")
    func workerKilledAlone() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let url = try await setUp("killedalone", component("long", scratch.script("\(scratch.daemon()) exec sleep 300")))
        try await Store.withStore(url: url, logger: logger) { store in
            let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
            defer { coordinator.stop() }
            let doomed = try BatonProcess(["worker", "--lease-seconds", "4", "--worker-id", "doomed"], databaseURL: url)
            let first = try await store.createJobs(componentId: "long", configId: "c")[0]
            try await waitUntil(timeout: 30, "the job and its daemon to run") { scratch.alive.count == 2 }
            let second = try await store.createJobs(componentId: "long", configId: "c")[0]
            kill(doomed.process.processIdentifier, SIGKILL)
            doomed.process.waitUntilExit()
            let (rescued, alive) = try await finalWithProcesses(store, first.id, scratch, timeout: 30)
            #expect(rescued.status == .error && rescued.result?["reason"] == "worker-lost")
            #expect(alive.isEmpty, "processes of the lost job still alive when it was rescued: \(alive)")
            // The next job of the configuration runs on another worker: it must find the lock free.
            let next = try BatonProcess(["worker", "--lease-seconds", "4"], databaseURL: url)
            defer { next.stop() }
            try await waitUntil(timeout: 30, "the second job to run") { try await store.job(id: second.id)?.status == .processing && scratch.alive.count == 2 }
            #expect(scratch.overlaps.isEmpty, "jobs of one configuration alive at once: \(scratch.overlaps)")
            _ = try await store.killJob(id: second.id)
            _ = try await store.waitForFinal([second.id], timeout: 30)
        }
    }

    @Test("a worker frozen (SIGSTOP) past its lease: its job is stopped at two thirds of the lease, before it is rescued, and the worker records nothing for it when it wakes")
    func workerFrozen() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let url = try await setUp("frozen", component("long", scratch.script("\(scratch.daemon()) exec sleep 300"))
                                  + "- {kind: component, id: ok, executor: {type: noop}}\n- {kind: configuration, component: ok, id: a}\n")
        try await Store.withStore(url: url, logger: logger) { store in
            let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
            defer { coordinator.stop() }
            let frozen = try BatonProcess(["worker", "--lease-seconds", "4", "--worker-id", "frozen"], databaseURL: url)
            defer { kill(frozen.process.processIdentifier, SIGCONT); frozen.stop() }
            let job = try await store.createJobs(componentId: "long", configId: "c")[0]
            try await waitUntil(timeout: 30, "the job and its daemon to run") { scratch.alive.count == 2 }
            kill(frozen.process.processIdentifier, SIGSTOP)
            let (rescued, alive) = try await finalWithProcesses(store, job.id, scratch, timeout: 30)
            #expect(rescued.status == .error && rescued.result?["reason"] == "worker-lost")
            #expect(alive.isEmpty, "processes of the job still alive when it was rescued: \(alive)")
            kill(frozen.process.processIdentifier, SIGCONT)
            // It wakes, learns the job is gone, records nothing for it, and works on.
            let after = try await store.createJobs(componentId: "ok", configId: "a")[0]
            #expect(try await store.waitForFinal([after.id], timeout: 30)[0].status == .success)
            let final = try await store.job(id: job.id)!
            #expect(final.status == .error && final.result?["reason"] == "worker-lost", "one outcome: still the rescue's")
        }
    }

    @Test("a worker that loses its database connection for longer than its lease stops its job before anyone may start the configuration again")
    func connectionLost() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let url = try await setUp("cut", component("long", scratch.script("\(scratch.daemon()) exec sleep 300"))
                                  + "- {kind: component, id: ok, executor: {type: noop}}\n- {kind: configuration, component: ok, id: a}\n")
        let proxy = try PostgresProxy(upstreamPort: URLComponents(string: url)!.port!)
        try await Store.withStore(url: url, logger: logger) { store in
            let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
            defer { coordinator.stop() }
            let worker = try BatonProcess(["worker", "--lease-seconds", "4", "--worker-id", "cut"], databaseURL: proxy.url(for: url))
            defer { worker.stop() }
            let job = try await store.createJobs(componentId: "long", configId: "c")[0]
            try await waitUntil(timeout: 30, "the job and its daemon to run") { scratch.alive.count == 2 }
            proxy.cut()
            let (rescued, alive) = try await finalWithProcesses(store, job.id, scratch, timeout: 30)
            #expect(rescued.status == .error && rescued.result?["reason"] == "worker-lost")
            #expect(alive.isEmpty, "processes of the job still alive when it was rescued: \(alive)")
            proxy.restore()
            let after = try await store.createJobs(componentId: "ok", configId: "a")[0]
            #expect(try await store.waitForFinal([after.id], timeout: 30)[0].status == .success, "the worker reconnects and works on")
            #expect(try await store.job(id: job.id)?.status == .error)
        }
    }

    @Test("a worker whose database is gone still exits on SIGTERM: an idle one at once, a busy one once its job's fence has stopped the job")
    func sigtermWithoutDatabase() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let url = try await setUp("offlinestop", component("long", scratch.script("exec sleep 300"))
                                  + "- {kind: component, id: ok, executor: {type: noop}}\n- {kind: configuration, component: ok, id: a}\n")
        let proxy = try PostgresProxy(upstreamPort: URLComponents(string: url)!.port!)
        try await Store.withStore(url: url, logger: logger) { store in
            let idle = try BatonProcess(["worker", "--lease-seconds", "4", "--worker-id", "offline-idle", "--components", "ok"],
                                        databaseURL: proxy.url(for: url))
            defer { idle.stop(timeout: 1) }
            let busy = try BatonProcess(["worker", "--lease-seconds", "4", "--worker-id", "offline-busy", "--components", "long", "--drain-seconds", "60"],
                                        databaseURL: proxy.url(for: url))
            defer { busy.stop(timeout: 1) }
            _ = try await store.createJobs(componentId: "long", configId: "c")
            try await waitUntil(timeout: 30, "the job to run") { scratch.alive.count == 1 }
            try await waitUntil(timeout: 30, "both workers to register") {
                var ids: [String] = []
                for try await value in try await store.client.query("SELECT live_workers()").decode([String].self) { ids = value }
                return Set(ids) == ["offline-idle", "offline-busy"]
            }
            proxy.cut()
            try await Task.sleep(for: .seconds(1))   // both have failed a turn or a heartbeat by now

            // Idle: its backoff (at most 5 s) or a 3 s connection attempt, then at most 4 s (its
            // lease) trying to mark its row stopped.
            var started = Date()
            #expect(idle.stop(timeout: 20) == 0, "the idle worker exits by itself (status 9: SIGKILLed after 20 s)\n\(idle.output.suffix(1500))")
            #expect(Date().timeIntervalSince(started) < 15)
            // Busy: its job is stopped by its fence (2/3 of the 4 s lease after its last renewal),
            // long before its 60 s drain is up; then nothing of it runs and the worker exits.
            started = Date()
            #expect(busy.stop(timeout: 40) == 0, "the busy worker exits by itself\n\(busy.output.suffix(1500))")
            #expect(Date().timeIntervalSince(started) < 25, "once its job was fenced, not after the 60 s drain")
            #expect(scratch.alive.isEmpty, "processes of the job alive after its worker exited: \(scratch.alive)")
            proxy.restore()
        }
    }

    @Test("a turn that commits but whose reply is lost: the worker reconnects and gives the jobs back at once, not after the lease")
    func lostReply() async throws {
        let url = try await setUp("lostreply", "- {kind: component, id: ok, executor: {type: noop}}\n- {kind: configuration, component: ok, id: a}\n- {kind: configuration, component: ok, id: b}\n- {kind: configuration, component: ok, id: c}\n")
        let proxy = try PostgresProxy(upstreamPort: URLComponents(string: url)!.port!)
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker", "--lease-seconds", "30", "--poll-seconds", "60", "--worker-id", "unlucky"], databaseURL: proxy.url(for: url))
            defer { worker.stop() }
            proxy.dropNextReply(to: "worker_turn", when: PostgresProxy.hasValue(inColumn: 2)) // a turn that claimed jobs (column 2: id)
            var ids: [Int64] = []
            for config in ["a", "b", "c"] { ids.append(try await store.createJobs(componentId: "ok", configId: config)[0].id) }
            let started = Date()
            let done = try await store.waitForFinal(ids, timeout: 30)
            #expect(proxy.droppedReplies == 1)
            #expect(done.allSatisfy { $0.status == .success }, "\(done.map { "\($0.id) \($0.status)" })")
            #expect(Date().timeIntervalSince(started) < 15, "given back at once, not after the 30 s lease")
            let released = try await ids.asyncFlatMap { try await store.events(jobId: $0) }.filter { $0.message.contains("the reply to its claim was lost") }
            #expect(!released.isEmpty, "the jobs claimed in the lost turn were given back")
            #expect(done.allSatisfy { $0.attempt == 1 }, "a claim that never ran does not count as an attempt")
        }
    }

    @Test("a worker that claims its own job again after a rescue keeps the attempts apart: the old one stops, the new one keeps its lease and succeeds")
    func claimedAgainBySameWorker() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let flag = scratch.path + "/second"
        // Attempt 1 sleeps 7 s; attempt 2 (the flag exists) sleeps 8 s.
        let url = try await setUp("reclaim", component("twice", "echo $$ >> \(scratch.path)/pids; if [ -f \(flag) ]; then exec sleep 8; else touch \(flag); exec sleep 7; fi"))
        try await Store.withStore(url: url, logger: logger) { store in
            let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
            defer { coordinator.stop() }
            let worker = try BatonProcess(["worker", "--lease-seconds", "4", "--worker-id", "same", "--concurrency", "2"], databaseURL: url)
            defer { kill(worker.process.processIdentifier, SIGCONT); worker.stop() }
            let job = try await store.createJobs(componentId: "twice", configId: "c", retries: 1, retryDelaySeconds: 0)[0]
            try await waitUntil(timeout: 30, "attempt 1 to run") { FileManager.default.fileExists(atPath: flag) }
            // Frozen past its lease: the rescuer queues the job again; the worker, awake, claims it again.
            kill(worker.process.processIdentifier, SIGSTOP)
            try await waitUntil(timeout: 30, "the rescue") { try await store.job(id: job.id)?.status == .created }
            kill(worker.process.processIdentifier, SIGCONT)
            let done = try await store.waitForFinal([job.id], timeout: 60)[0]
            #expect(done.status == .success && done.attempt == 2, "\(done.status) attempt \(done.attempt): \(String(describing: done.result)); worker: \(worker.output.suffix(3000)); coordinator: \(coordinator.output.suffix(1500))")
        }
    }

    @Test("a descendant that calls setsid cannot keep a timed-out job alive: the job ends error (timeout) and every process of it is gone")
    func daemonTimeout() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let url = try await setUp("daemontimeout", component("daemon", scratch.script("\(scratch.daemon(ignoringTERM: true)) sleep 300"), timeout: 3))
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let job = try await store.createJobs(componentId: "daemon", configId: "c")[0]
            // Both started (their pids are written): on a loaded run the moment both are alive
            // (the 3 s before the timeout) can pass between two looks of a starved test process.
            try await waitUntil(timeout: 30, "the job and its daemon to run") { scratch.pids.count == 2 }
            // Timeout 3 s, then SIGTERM, SIGKILL after the 10 s grace at the latest.
            let (done, alive) = try await finalWithProcesses(store, job.id, scratch, timeout: 3 + 10 + 10)
            #expect(done.status == .error && done.result?["reason"] == "timeout")
            #expect(alive.isEmpty, "still alive after the job ended: \(alive)")
        }
    }

    @Test("a killed job that ignores SIGTERM and left a daemon that ignores it too ends terminated after the grace, every process gone")
    func daemonKill() async throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let url = try await setUp("daemonkill", component("stubborn", scratch.script("trap '' TERM; \(scratch.daemon(ignoringTERM: true)) sleep 300 & wait")))
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let job = try await store.createJobs(componentId: "stubborn", configId: "c")[0]
            try await waitUntil(timeout: 30, "the job and its daemon to run") { scratch.alive.count == 2 }
            #expect(try await store.killJob(id: job.id) == .terminating)
            let (done, alive) = try await finalWithProcesses(store, job.id, scratch, timeout: 10 + 10)
            #expect(done.status == .terminated)
            #expect(alive.isEmpty, "still alive after the job ended: \(alive)")
        }
    }

    @Test("a killed sql job's statement stops on its database: it is cancelled there, not left to run")
    func sqlKill() async throws {
        let url = try await setUp("sqlkill", """
            - {kind: component, id: warehouse, executor: {type: sql, databaseUrlEnv: TARGET_URL}}
            - {kind: configuration, component: warehouse, id: slow, parameters: {sql: "SELECT pg_sleep(120)"}}
            """)
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker", "--sql-target", "TARGET_URL"], databaseURL: url, environment: ["TARGET_URL": url])
            defer { worker.stop() }
            let job = try await store.createJobs(componentId: "warehouse", configId: "slow")[0]
            func sleeping() async throws -> Int {
                var n = 0
                for try await count in try await store.client.query("""
                    SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = 'SELECT pg_sleep(120)'
                    """, logger: logger).decode(Int.self) { n = count }
                return n
            }
            try await waitUntil(timeout: 30, "the statement to run") { try await sleeping() == 1 }
            _ = try await store.killJob(id: job.id)
            let done = try await store.waitForFinal([job.id], timeout: 30)[0]
            #expect(done.status == .terminated)
            try await waitUntil(timeout: 5, "the statement to be cancelled on the target") { try await sleeping() == 0 }
        }
    }

    @Test("a NUL byte, invalid UTF-8, a 10 MB line and 20,000 lines each end with a clear result, and 100 jobs after them on the same worker all succeed")
    func poisonOutput() async throws {
        let url = try await setUp("poison", component("nul", "printf 'a\\000b\\n'", config: "nul")
            + component("utf8", "printf 'caf\\303\\251 \\377\\376 end\\n'", config: "utf8")
            + component("huge", "head -c 10000000 /dev/zero | tr '\\000' x; echo; echo after", config: "huge")
            + component("flood", "seq 1 20000", config: "flood")
            + "- {kind: component, id: ok, executor: {type: noop}}\n" + (0..<100).map { "- {kind: configuration, component: ok, id: n\($0)}\n" }.joined())
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker", "--concurrency", "1"], databaseURL: url)
            defer { worker.stop() }
            let nul = try await store.createJobs(componentId: "nul", configId: "nul")[0]
            let utf8 = try await store.createJobs(componentId: "utf8", configId: "utf8")[0]
            let huge = try await store.createJobs(componentId: "huge", configId: "huge")[0]
            let flood = try await store.createJobs(componentId: "flood", configId: "flood")[0]
            var after: [Int64] = []
            for i in 0..<100 { after.append(try await store.createJobs(componentId: "ok", configId: "n\(i)")[0].id) }
            let done = try await store.waitForFinal(after + [nul.id, utf8.id, huge.id, flood.id], timeout: 120)
            #expect(done.filter { after.contains($0.id) }.allSatisfy { $0.status == .success })
            let byId = Dictionary(uniqueKeysWithValues: done.map { ($0.id, $0) })

            #expect(byId[nul.id]?.status == .success)
            #expect(byId[nul.id]?.result?["outputCleaned"]?["nulBytes"] == 1)
            #expect(try await store.events(jobId: nul.id).contains { $0.message == "a\u{FFFD}b" })

            #expect(byId[utf8.id]?.status == .success)
            #expect(byId[utf8.id]?.result?["outputCleaned"]?["invalidUTF8Lines"] == 1)
            #expect(try await store.events(jobId: utf8.id).contains { $0.message.hasPrefix("café ") && $0.message.hasSuffix(" end") })

            #expect(byId[huge.id]?.status == .success)
            #expect(byId[huge.id]?.result?["outputCleaned"]?["cutLines"] == 1)
            let hugeEvents = try await store.events(jobId: huge.id)
            #expect(hugeEvents.contains { $0.message.hasSuffix("[line cut: \(10_000_000 - OutputLimits.lineBytes + 64) more bytes]") && $0.message.utf8.count <= OutputLimits.lineBytes })
            #expect(hugeEvents.contains { $0.message == "after" })

            #expect(byId[flood.id]?.status == .success)
            #expect(byId[flood.id]?.result?["droppedLines"] == .number(Double(20_000 - OutputLimits.eventsPerJob)))
            #expect(byId[flood.id]?.result?["output"]?.arrayValue?.last == "20000", "the result keeps the last lines")
            let floodEvents = try await store.events(jobId: flood.id, limit: 30_000)
            #expect(floodEvents.filter { $0.stream == .stdout }.count == OutputLimits.eventsPerJob)
            #expect(floodEvents.contains { $0.message.hasPrefix("\(20_000 - OutputLimits.eventsPerJob) more output lines were not recorded") })
        }
    }

    @Test("parameters over 128 KiB reach a process on stdin and in BATON_PARAMETERS_FILE; BATON_PARAMETERS is left out")
    func largeParameters() async throws {
        let url = try await setUp("bigparams", component("big", "wc -c < \"$BATON_PARAMETERS_FILE\"; wc -c; if [ -z \"${BATON_PARAMETERS+set}\" ]; then echo no-env; fi"))
        try await Store.withStore(url: url, logger: logger) { store in
            let worker = try BatonProcess(["worker"], databaseURL: url)
            defer { worker.stop() }
            let blob = String(repeating: "x", count: 200_000)
            let job = try await store.createJobs(componentId: "big", configId: "c", configData: ["blob": .string(blob)])[0]
            let done = try await store.waitForFinal([job.id], timeout: 30)[0]
            let size = String(JSONValue.object(["blob": .string(blob)]).jsonText.utf8.count)
            #expect(done.status == .success, "\(String(describing: done.result))")
            #expect(done.result?["output"]?.arrayValue?.compactMap(\.stringValue).map { $0.trimmingCharacters(in: .whitespaces) } == [size, size, "no-env"])
        }
    }

    @Test("an outcome the database refuses ends that job error (unrecordable-output); the worker's other jobs and claims go on")
    func unrecordableOutcome() async throws {
        let url = try await setUp("unrecordable", component("marked", "echo refuse-this-result; exit 1")
            + "- {kind: component, id: ok, executor: {type: noop}}\n" + (0..<10).map { "- {kind: configuration, component: ok, id: n\($0)}\n" }.joined())
        try await Store.withStore(url: url, logger: logger) { store in
            // The fault: the database refuses to store a result holding the marker.
            try await store.client.query("""
                CREATE FUNCTION test_refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.result::text LIKE '%refuse-this-result%' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                    RETURN NEW;
                END $$
                """, logger: logger)
            try await store.client.query("CREATE TRIGGER test_refuse BEFORE UPDATE OF result ON jobs FOR EACH ROW EXECUTE FUNCTION test_refuse_marked()", logger: logger)
            let worker = try BatonProcess(["worker", "--concurrency", "2"], databaseURL: url)
            defer { worker.stop() }
            let marked = try await store.createJobs(componentId: "marked", configId: "c")[0]
            var after: [Int64] = []
            for i in 0..<10 { after.append(try await store.createJobs(componentId: "ok", configId: "n\(i)")[0].id) }
            let done = try await store.waitForFinal([marked.id] + after, timeout: 60)
            let refused = done.first { $0.id == marked.id }!
            #expect(refused.status == .error && refused.result?["reason"] == "unrecordable-output", "\(String(describing: refused.result))")
            #expect(done.filter { after.contains($0.id) }.allSatisfy { $0.status == .success })
        }
    }
}

extension Array {
    func asyncFlatMap<T>(_ transform: (Element) async throws -> [T]) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out += try await transform(element) }
        return out
    }
}
