import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Logging
import Synchronization
import Testing

/// The pooled run (`BATON_TEST_POOLER=pgbouncer`, scripts/test-pooled) really goes through
/// PgBouncer in transaction mode, and what a fleet there needs works: the relay wakes workers and
/// coordinators; a worker that LISTENs instead says that it hears nothing, and polls.
@Suite("through PgBouncer in transaction mode",
       .enabled(if: TestPooler.requested != nil, "the pooled run's checks (BATON_TEST_POOLER=pgbouncer, scripts/test-pooled): in the normal run the tests talk to PostgreSQL directly"))
struct PoolerTests {
    let logger = TestPostgres.shared.logger

    /// What PostgreSQL and PgBouncer showed of a test database while its fleet ran.
    struct Seen: Sendable, CustomStringConvertible {
        var samples = 0
        /// The most clients PgBouncer had for the database at once, and server connections.
        var clients = 0, servers = 0
        /// Every PostgreSQL backend (pid) of PgBouncer's server connections to the database.
        var serverPids: Set<Int> = []
        /// TCP sessions of the database that were not PgBouncer's (the relay's come over the
        /// Unix socket): a worker or coordinator that went around PgBouncer.
        var strangers: [Int: String] = [:]
        var description: String {
            "\(samples) samples: at most \(clients) clients and \(servers) server connections at once, \(serverPids.count) server backends in all, strangers \(strangers.values.sorted())"
        }
    }

    /// Tells a watch to end (not cancellation: that would end the query in flight with an error).
    final class Stop: Sendable {
        let flag = Atomic(false)
        func callAsFunction() { flag.store(true, ordering: .relaxed) }
        var requested: Bool { flag.load(ordering: .relaxed) }
    }

    /// Samples, until `stop`, PgBouncer's pools and servers for `database` and PostgreSQL's
    /// TCP sessions of it (read over `direct`, a session of another database).
    static func watch(_ pooler: TestPooler, database: String, direct: String, until stop: Stop, logger: Logger) async throws -> Seen {
        try await Store.withStore(url: direct, logger: logger) { store in
            func tcpBackends() async throws -> [Int: String] {
                var found: [Int: String] = [:]
                for try await (pid, text) in try await store.client.query("""
                    SELECT pid, format('pid %s from port %s (%s): %s', pid, client_port, state, left(query, 60))
                    FROM pg_stat_activity
                    WHERE datname = \(database) AND backend_type = 'client backend' AND client_port <> -1
                    """, logger: logger).decode((Int, String).self) { found[pid] = text }
                return found
            }
            var seen = Seen()
            while !stop.requested {
                let pools = try pooler.pools().filter { $0.database == database }
                let before = try pooler.serverPids(database: database)
                let backends = try await tcpBackends()
                let after = try pooler.serverPids(database: database)
                var unknown = Set(backends.keys).subtracting(before).subtracting(after)
                if !unknown.isEmpty {
                    // A server connection still logging in has no remote_pid yet: ask again.
                    try? await Task.sleep(for: .milliseconds(300))
                    let later = try await tcpBackends(), servers = try pooler.serverPids(database: database)
                    unknown = unknown.intersection(later.keys).subtracting(servers)
                    for pid in unknown { seen.strangers[pid] = later[pid] }
                    seen.serverPids.formUnion(servers)
                }
                seen.samples += 1
                seen.clients = max(seen.clients, pools.reduce(0) { $0 + $1.clients })
                seen.servers = max(seen.servers, pools.reduce(0) { $0 + $1.servers })
                seen.serverPids.formUnion(before.union(after))
                try? await Task.sleep(for: .milliseconds(100))
            }
            return seen
        }
    }

    @Test("12 workers and a coordinator through PgBouncer: every job and run done, every TCP session PostgreSQL had for the database one of PgBouncer's server connections, more clients than server connections, a transaction through PgBouncer for each job at least")
    func fleetGoesThroughPgBouncer() async throws {
        let pooler = try #require(try await TestPostgres.shared.pooler(), "BATON_TEST_POOLER is set, so the tests must go through PgBouncer")
        try #require(try await TestPostgres.shared.relaysUseSocket(),
                     "the relays must reach PostgreSQL over its Unix socket, so that every TCP session is PgBouncer's: unset DATABASE_URL (the tests start their own server) or give it ?host=/socket/dir")
        let configs = (1...30).map { "c\($0)" }
        let url = try await TestPostgres.shared.makeDatabase("pooled", applying: """
                - {kind: component, id: quick, executor: {type: noop}}
                \(configs.map { "- {kind: configuration, component: quick, id: \($0)}" }.joined(separator: "\n"))
                - kind: orchestration
                  id: chain
                  phases: [{id: 1, name: One}, {id: 2, name: Two, dependsOn: [1]}, {id: 3, name: Three, dependsOn: [2]}]
                  tasks:
                    - {id: a, name: A, phase: 1, task: {componentId: quick, configId: c1}}
                    - {id: b, name: B, phase: 2, task: {componentId: quick, configId: c2}}
                    - {id: c, name: C, phase: 3, task: {componentId: quick, configId: c3}}
                """)
        #expect(URLComponents(string: url)?.port == pooler.port, "makeDatabase hands out URLs through PgBouncer: \(url)")
        let database = try #require(URLComponents(string: url)?.path.dropFirst()).description
        var other = try #require(URLComponents(string: try await TestPostgres.shared.directURL(url)))
        other.path = "/postgres"
        let direct = try #require(other.string)

        let workers = try BatonProcess.workers(12, databaseURL: url, arguments: ["--concurrency", "4"])
        let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
        defer { for process in workers + [coordinator] { process.stop() } }
        let logger = self.logger
        let stop = Stop()
        let watcher = Task { try await Self.watch(pooler, database: database, direct: direct, until: stop, logger: logger) }
        defer { stop() }
        try await waitUntil(timeout: 60, "the fleet to reach the relay and the coordinator to lead") {
            (workers + [coordinator]).allSatisfy { $0.output.contains("connected to the wake-up relay") }
                && coordinator.output.contains("active coordinator")
        }
        let transactionsBefore = try pooler.transactions(database: database)
        let jobCount = 300
        try await Store.withStore(url: url, logger: logger) { store in
            var ids: [Int64] = [], runs: [Int64] = []
            for i in 0..<jobCount {
                ids += try await store.createJobs(componentId: "quick", configId: configs[i % configs.count]).map(\.id)
                if i % 100 == 0 { runs.append(try await Orchestrations.run(store: store, projectId: "default", id: "chain", only: [], exclude: []).id) }
            }
            let jobs = try await store.waitForFinal(ids + runs, timeout: 120)
            #expect(jobs.allSatisfy { $0.status == .success }, "statuses: \(Dictionary(grouping: jobs, by: \.status).mapValues(\.count))")
            for run in runs {
                let tasks = try await store.children(of: run)
                #expect(tasks.compactMap(\.orchestrationTaskId).sorted() == ["a", "b", "c"] && tasks.allSatisfy { $0.status == .success }, "run \(run)")
            }
        }
        stop()
        let seen = try await watcher.value
        let transactions = try pooler.transactions(database: database) - transactionsBefore
        print("pooled fleet of 12 workers and a coordinator, \(jobCount) jobs and 3 runs through PgBouncer: \(transactions) transactions through it, \(seen)")
        #expect(seen.strangers.isEmpty, "PostgreSQL had TCP sessions of the database that were not PgBouncer's: \(seen)")
        #expect(seen.samples >= 2 && !seen.serverPids.isEmpty, "the watch saw PgBouncer's server connections: \(seen)")
        #expect((1...TestPooler.poolSize).contains(seen.servers), "PgBouncer kept to its pool of \(TestPooler.poolSize): \(seen)")
        #expect(seen.clients > seen.servers, "PgBouncer shared its server connections among more clients: \(seen)")
        #expect(transactions >= jobCount, "every job took at least a transaction through PgBouncer: \(transactions)")
    }

    @Test("a worker that LISTENs (--wakeups listen) through PgBouncer in transaction mode warns within seconds that LISTEN hears nothing, and still runs jobs by polling")
    func listenHearsNothing() async throws {
        let pooler = try #require(try await TestPostgres.shared.pooler())
        let url = try await TestPostgres.shared.makeDatabase("deaf", applying: """
                - {kind: component, id: quick, executor: {type: noop}}
                - {kind: configuration, component: quick, id: a}
                - {kind: configuration, component: quick, id: b}
                """)
        #expect(URLComponents(string: url)?.port == pooler.port, "the worker goes through PgBouncer: \(url)")
        let started = ContinuousClock.now
        let worker = try BatonProcess(["worker", "--worker-id", "deaf", "--wakeups", "listen", "--poll-seconds", "1"], databaseURL: url)
        defer { worker.stop() }
        // The probe waits 5 s for its NOTIFY once LISTEN is in place (about 6 s after the start
        // here; a loaded machine starts the worker later, hence the margin).
        try await waitUntil(timeout: 30, "the worker to warn that LISTEN hears nothing") { worker.output.contains("LISTEN hears nothing") }
        let warnedAfter = ContinuousClock.now - started
        #expect(warnedAfter < .seconds(20), "warned after \(warnedAfter)")
        #expect(!worker.output.contains("wake-up relay"), "the worker was told to LISTEN, not to use the relay: \(worker.output.suffix(500))")
        try await Store.withStore(url: url, logger: logger) { store in
            var ids: [Int64] = []
            for config in ["a", "b", "a"] { ids += try await store.createJobs(componentId: "quick", configId: config).map(\.id) }
            let jobs = try await store.waitForFinal(ids, timeout: 30)
            #expect(jobs.allSatisfy { $0.status == .success } && jobs.allSatisfy { $0.workerId == "deaf" }, "\(jobs.map { "\($0.id) \($0.status) \($0.workerId ?? "-")" })")
        }
        #expect(worker.output.components(separatedBy: "LISTEN hears nothing").count == 2, "warned once: \(worker.output.suffix(800))")
    }
}
