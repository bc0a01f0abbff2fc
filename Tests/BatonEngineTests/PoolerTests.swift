import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// The pooled run (`BATON_TEST_POOLER=pgbouncer`, scripts/test-pooled) really goes through
/// PgBouncer: a fleet opens many more client connections than PgBouncer's server pool, and
/// PostgreSQL never sees more backends for the database than that pool.
@Suite("through PgBouncer in transaction mode")
struct PoolerTests {
    let logger = TestPostgres.shared.logger

    @Test("12 workers and a coordinator through a pool of 10 server connections: more clients than that, never more servers, every job and run done",
          .enabled(if: TestPooler.requested != nil, "the pooled run's check (BATON_TEST_POOLER=pgbouncer): in the normal run the tests talk to PostgreSQL directly"))
    func boundedServerPool() async throws {
        let pooler = try #require(try await TestPostgres.shared.pooler(), "BATON_TEST_POOLER is set, so the tests must go through PgBouncer")
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
        #expect(url.contains(":\(pooler.port)/"), "makeDatabase hands out URLs through PgBouncer: \(url)")
        let database = try #require(URLComponents(string: url)?.path.dropFirst()).description
        // PostgreSQL's view, from a direct connection to another database (so it counts nothing of its own).
        var serverSide = try #require(URLComponents(string: try await TestPostgres.shared.directURL(url)))
        serverSide.path = "/postgres"

        let workers = try BatonProcess.workers(12, databaseURL: url, arguments: ["--concurrency", "4"])
        let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
        defer { for process in workers + [coordinator] { process.stop() } }
        try await Store.withStore(url: serverSide.string!, logger: logger) { direct in
            try await Store.withStore(url: url, logger: logger) { store in
                try await waitUntil(timeout: 60, "the fleet to reach the relay and the coordinator to lead") {
                    (workers + [coordinator]).allSatisfy { $0.output.contains("connected to the wake-up relay") }
                        && coordinator.output.contains("active coordinator")
                }
                var ids: [Int64] = [], runs: [Int64] = []
                for i in 0..<300 {
                    ids += try await store.createJobs(componentId: "quick", configId: configs[i % configs.count]).map(\.id)
                    if i % 100 == 0 { runs.append(try await Orchestrations.run(store: store, projectId: "default", id: "chain", only: [], exclude: []).id) }
                }
                ids += runs
                // Until every job and run is final: PgBouncer's pools, and the backends PostgreSQL
                // has for the database (all but the relay's LISTEN session come through PgBouncer).
                var peak = (clients: 0, servers: 0, allServers: 0, backends: 0), samples = 0
                try await waitUntil(timeout: 120, interval: .milliseconds(200), "the jobs to finish") {
                    let pools = try pooler.pools()
                    let mine = pools.first { $0.database == database }
                    var backends = 0
                    for try await n in try await direct.client.query("""
                        SELECT count(*)::int FROM pg_stat_activity
                        WHERE datname = \(database) AND backend_type = 'client backend' AND query NOT LIKE 'LISTEN %'
                        """, logger: logger).decode(Int.self) { backends = n }
                    peak = (max(peak.clients, mine?.clients ?? 0), max(peak.servers, mine?.servers ?? 0),
                            max(peak.allServers, pools.reduce(0) { $0 + $1.servers }), max(peak.backends, backends))
                    samples += 1
                    let jobs = try await store.jobs(JobFilter(ids: ids, limit: ids.count))
                    return jobs.count == ids.count && jobs.allSatisfy(\.status.isFinal)
                }
                let jobs = try await store.jobs(JobFilter(ids: ids, limit: ids.count))
                #expect(jobs.allSatisfy { $0.status == .success }, "statuses: \(Dictionary(grouping: jobs, by: \.status).mapValues(\.count))")
                for run in runs {
                    let tasks = try await store.children(of: run)
                    #expect(tasks.map(\.orchestrationTaskId).sorted() == ["a", "b", "c"] && tasks.allSatisfy { $0.status == .success }, "run \(run)")
                }
                print("pooled fleet, peaks over \(samples) samples: \(peak.clients) client connections, \(peak.servers) server connections and \(peak.backends) PostgreSQL backends for its database, \(peak.allServers) server connections in all")
                #expect(peak.clients > TestPooler.poolSize, "the fleet held more client connections than the pool: \(peak)")
                #expect((1...TestPooler.poolSize).contains(peak.servers), "PgBouncer's server connections for the database: \(peak)")
                #expect(peak.backends <= TestPooler.poolSize, "PostgreSQL's backends for the database (a worker past PgBouncer would add its own): \(peak)")
                #expect(peak.allServers <= TestPooler.maxServerConnections, "PgBouncer's server connections in all: \(peak)")
            }
        }
    }
}
