import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The fleet as an operator sees it with plain SQL: one row per worker process in `workers`,
/// kept fresh by heartbeats (with or without jobs), marked stopped at a graceful shutdown, and
/// dropped from the live workers when it dies without a word.
@Suite("workers table")
struct WorkerRowsTests {
    @Test("a worker registers, is heard from while idle and busy, says when it stops, and drops out of the live workers when killed")
    func lifecycle() async throws {
        let url = try await TestPostgres.shared.makeDatabase("workerrows", applying: """
                - {kind: component, id: napper, executor: {type: sleep}}
                - {kind: configuration, component: napper, id: nap, parameters: {seconds: 4}}
                """)
        try await Store.withStore(url: url, logger: TestPostgres.shared.logger) { store in
            let workers = try BatonProcess.workers(2, databaseURL: url, arguments: ["--lease-seconds", "3", "--concurrency", "3"])
            defer { for worker in workers { worker.stop() } }
            func live() async throws -> [String] {
                var ids: [String] = []
                for try await value in try await store.client.query("SELECT live_workers()").decode([String].self) { ids = value }
                return ids
            }
            func row(_ id: String) async throws -> (pid: Int32, concurrency: Int32, version: String, running: Int32, seen: Date, stopped: Date?)? {
                var found: (Int32, Int32, String, Int32, Date, Date?)?
                for try await r in try await store.client.query(
                    "SELECT pid, concurrency, version, running, seen_time, stopped_time FROM workers WHERE id = \(id)"
                ).decode((Int32, Int32, String, Int32, Date, Date?).self) { found = r }
                return found
            }
            try await waitUntil(timeout: 30, "both workers to register") { try await live() == ["test-worker-0", "test-worker-1"] }
            let first = try #require(try await row("test-worker-0"))
            #expect(first.pid == workers[0].process.processIdentifier)
            #expect(first.concurrency == 3)
            #expect(first.version == batonVersion)
            #expect(first.stopped == nil)

            // Idle, it is still heard from (every quarter of its 3 s lease).
            try await waitUntil(timeout: 10, "an idle heartbeat") { try await row("test-worker-0")!.seen > first.seen }

            // Busy, its row says how many jobs it runs.
            let job = try await store.createJobs(componentId: "napper", configId: "nap")[0]
            try await waitUntil(timeout: 15, "the running job to show in its worker's row") {
                guard let holder = try await store.job(id: job.id)?.workerId else { return false }
                return try await row(holder)?.running == 1
            }

            // A graceful stop marks the row at once; the worker is no longer live.
            let holder = try #require(try await store.job(id: job.id)?.workerId)
            let (stopping, staying) = holder == "test-worker-0" ? (workers[0], workers[1]) : (workers[1], workers[0])
            let stayingId = holder == "test-worker-0" ? "test-worker-1" : "test-worker-0"
            #expect(stopping.stop() == 0)
            let stopped = try #require(try await row(holder))
            #expect(stopped.stopped != nil && stopped.running == 0)
            #expect(try await live() == [stayingId])
            let drained = try await store.job(id: job.id)
            #expect(drained?.status == .success, "it drained its job before it stopped: \(String(describing: drained?.status)) \(String(describing: drained?.result)); its log: \(stopping.output.suffix(3000))")

            // Killed, it cannot say so: it drops out of the live workers once two leases pass unheard.
            kill(staying.process.processIdentifier, SIGKILL)
            staying.process.waitUntilExit()
            #expect(try await row(stayingId)?.stopped == nil)
            try await waitUntil(timeout: 20, "the killed worker to drop out of the live workers") { try await live().isEmpty }
        }
    }
}
