import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Workers and a coordinator that hear of jobs through `baton relay` instead of a LISTEN
/// connection each: new jobs start at once and are spread over the workers, a kill reaches its
/// job, a forged kill does not, and without the relay the fleet falls back to polling.
@Suite("wake-up relay")
struct RelayTests {
    let logger = TestPostgres.shared.logger

    /// Starts `baton relay` for `url`'s database on a free port (or `port`); returns it and its
    /// port. The relay LISTENs: it connects straight to the server, past any pooler.
    static func relay(_ url: String, port: Int = 0) async throws -> (BatonProcess, Int) {
        try await BatonProcess.relay(databaseURL: try await TestPostgres.shared.directURL(url), port: port)
    }

    func startDelay(_ store: Store, _ id: Int64) async throws -> Double {
        let job = try #require(try await store.job(id: id))
        return try #require(job.startTime).timeIntervalSince(job.createdTime)
    }

    @Test("through the relay: jobs start long before a poll and spread over the workers; kills reach their job, forged ones do not; without the relay, polling")
    func relayedFleet() async throws {
        let url = try await TestPostgres.shared.makeDatabase("relay", applying: """
                - {kind: component, id: quick, executor: {type: noop}}
                - {kind: configuration, component: quick, id: q}
                - {kind: component, id: napper, executor: {type: sleep}}
                - {kind: configuration, component: napper, id: nap, parameters: {seconds: 4}}
                - {kind: configuration, component: napper, id: nap2, parameters: {seconds: 4}}
                """)
        let (first, port) = try await Self.relay(url)
        let relays = Relays(first)
        defer { relays.stopAll() }
        // A 5 s poll and a 300 s lease (heartbeats every 75 s): only the relay starts or kills a job within a second.
        let workers = try BatonProcess.workers(3, databaseURL: url, arguments: [
            "--wakeups", "127.0.0.1:\(port)", "--poll-seconds", "5", "--lease-seconds", "300"])
        defer { for worker in workers { worker.stop() } }
        try await Store.withStore(url: url, logger: logger) { store in
            try await waitUntil(timeout: 30, "the workers to reach the relay") {
                workers.allSatisfy { $0.output.contains("connected to the wake-up relay") }
            }
            // A client that sends nonsense is cut off; the relay goes on.
            let garbage = try TestPython.run("/usr/bin/env", ["python3", "-c", """
                import socket
                s = socket.create_connection(('127.0.0.1', \(port))); s.settimeout(10)
                try:
                    s.sendall(b'x' * 5000); print('closed' if s.recv(10) == b'' else 'open')
                except ConnectionResetError:
                    print('closed')
                """])
            #expect(garbage.output.contains("closed"), "\(garbage.output)")

            var ids: [Int64] = []
            for _ in 0..<9 {
                let job = try await store.createJobs(componentId: "quick", configId: "q")[0]
                _ = try await store.waitForFinal([job.id], timeout: 10)
                ids.append(job.id)
            }
            let delays = try await ids.asyncMap { try await startDelay(store, $0) }
            #expect(delays.allSatisfy { $0 < 1 }, "enqueue to start: \(delays)")
            let jobs = try await store.waitForFinal(ids)
            #expect(Set(jobs.compactMap(\.workerId)).count == 3, "spread: \(jobs.compactMap(\.workerId))")

            // A kill passed on by the relay is only a hint: the worker asks PostgreSQL.
            let kept = try await store.createJobs(componentId: "napper", configId: "nap")[0]
            let killed = try await store.createJobs(componentId: "napper", configId: "nap2")[0]
            try await waitUntil(timeout: 10, "both naps to run") {
                let a = try await store.job(id: kept.id)?.status, b = try await store.job(id: killed.id)?.status
                return a == .processing && b == .processing
            }
            for try await _ in try await store.client.query("SELECT pg_notify('baton_jobs', 'kill:\(kept.id)')", logger: logger) {}
            let asked = Date()
            #expect(try await store.killJob(id: killed.id) == .terminating)
            let ends = Dictionary(uniqueKeysWithValues: try await store.waitForFinal([kept.id, killed.id], timeout: 30).map { ($0.id, $0) })
            #expect(ends[kept.id]?.status == .success, "a forged kill stops nothing")
            #expect(ends[killed.id]?.status == .terminated)
            #expect(try #require(ends[killed.id]?.endTime).timeIntervalSince(asked) < 3, "the kill came through the relay, not a heartbeat")

            // The relay goes away: the workers poll (every 5 s ± 20 %).
            let gone = relays.last
            kill(gone.process.processIdentifier, SIGKILL)
            gone.process.waitUntilExit()
            try await waitUntil(timeout: 10, "the workers to notice") {
                workers.allSatisfy { $0.output.contains("wake-up relay connection closed") }
            }
            let polled = try await store.createJobs(componentId: "quick", configId: "q")[0]
            _ = try await store.waitForFinal([polled.id], timeout: 15)
            #expect(try await startDelay(store, polled.id) < 7, "picked up by a poll")

            // It comes back on the same port: jobs start at once again.
            relays.add(try await Self.relay(url, port: port).0)
            try await waitUntil(timeout: 30, "the workers to reconnect") {
                workers.allSatisfy { $0.output.components(separatedBy: "connected to the wake-up relay").count >= 3 }
            }
            let back = try await store.createJobs(componentId: "quick", configId: "q")[0]
            _ = try await store.waitForFinal([back.id], timeout: 10)
            #expect(try await startDelay(store, back.id) < 1)
        }
    }

    @Test("an orchestration advances through the relay: the coordinator is woken by its tasks' ends, not its poll")
    func coordinatorThroughRelay() async throws {
        let url = try await TestPostgres.shared.makeDatabase("relayrun", applying: """
                - {kind: component, id: quick, executor: {type: noop}}
                - {kind: configuration, component: quick, id: a}
                - {kind: configuration, component: quick, id: b}
                - {kind: configuration, component: quick, id: c}
                - kind: orchestration
                  id: chain
                  phases: [{id: 1, name: One}, {id: 2, name: Two, dependsOn: [1]}, {id: 3, name: Three, dependsOn: [2]}]
                  tasks:
                    - {id: a, name: A, phase: 1, task: {componentId: quick, configId: a}}
                    - {id: b, name: B, phase: 2, task: {componentId: quick, configId: b}}
                    - {id: c, name: C, phase: 3, task: {componentId: quick, configId: c}}
                """)
        let (relay, port) = try await Self.relay(url)
        defer { relay.stop() }
        let workers = try BatonProcess.workers(2, databaseURL: url, arguments: ["--wakeups", "127.0.0.1:\(port)", "--poll-seconds", "30"])
        let coordinator = try BatonProcess(["coordinator", "--wakeups", "127.0.0.1:\(port)"], databaseURL: url)
        defer { for process in workers + [coordinator] { process.stop() } }
        try await Store.withStore(url: url, logger: logger) { store in
            try await waitUntil(timeout: 30, "everyone to reach the relay") {
                (workers + [coordinator]).allSatisfy { $0.output.contains("connected to the wake-up relay") }
                    && coordinator.output.contains("active coordinator")
            }
            let run = try await Orchestrations.run(store: store, projectId: "default", id: "chain", only: [], exclude: [])
            let ended = try await store.waitForFinal([run.id], timeout: 30)[0]
            #expect(ended.status == .success)
            // Each phase is handed on at its task's end, not at the coordinator's next 2 s tick
            // (by ticks alone, all three gaps under 0.5 s would happen about 1 time in 100).
            let tasks = try await store.children(of: run.id).sorted { $0.id < $1.id }
            #expect(tasks.map(\.orchestrationTaskId) == ["a", "b", "c"])
            let gaps = [tasks[1].createdTime.timeIntervalSince(tasks[0].endTime!), tasks[2].createdTime.timeIntervalSince(tasks[1].endTime!),
                        ended.endTime!.timeIntervalSince(tasks[2].endTime!)]
            #expect(gaps.allSatisfy { $0 < 0.5 }, "from a task's end to the next step: \(gaps)")
        }
    }
}

/// The relay processes a test started, to stop at its end.
final class Relays: @unchecked Sendable {
    private var all: [BatonProcess]
    init(_ first: BatonProcess) { all = [first] }
    var last: BatonProcess { all[all.count - 1] }
    func add(_ relay: BatonProcess) { all.append(relay) }
    func stopAll() { for relay in all { relay.stop() } }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
