import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Logging
import PostgresNIO
import Testing

/// Exactly one outcome per job: each race is played deterministically on two sessions. Session A
/// holds its transaction open after its statement; session B's statement waits for A's row lock
/// (seen in pg_stat_activity); then A commits and B goes on. Whoever commits first wins; the
/// other changes nothing.
@Suite("exactly one outcome: finish, rescue, kill and claim raced on two sessions")
struct OutcomeFencingTests {
    let logger = TestPostgres.shared.logger

    func setUp(_ name: String) async throws -> String {
        try await TestPostgres.shared.makeDatabase(name, applying: "- {kind: component, id: ok, executor: {type: noop}}\n- {kind: configuration, component: ok, id: a}")
    }

    /// Each statement here returns one text column.
    /// Runs `first` in an open transaction on one connection, then `second` on another until it
    /// waits for a lock, then commits the first; returns what `second` returned.
    func race(_ store: Store, first: String, second: String) async throws -> (first: [String], second: [String]) {
        try await store.client.withConnection { a in
            try await store.client.withConnection { b in
                try await a.query("BEGIN", logger: logger)
                let firstRows = try await Self.texts(a, first, logger)
                let waiting = Task { try await Self.texts(b, second, logger) }
                try await waitUntil(timeout: 10, "the second session to wait for the first one's lock") {
                    var blocked = 0
                    for try await n in try await store.client.query("""
                        SELECT count(*)::int FROM pg_stat_activity
                        WHERE datname = current_database() AND wait_event_type = 'Lock' AND state = 'active'
                        """, logger: logger).decode(Int.self) { blocked = n }
                    return blocked == 1
                }
                try await a.query("COMMIT", logger: logger)
                return (firstRows, try await waiting.value)
            }
        }
    }

    static func texts(_ connection: PostgresConnection, _ sql: String, _ logger: Logger) async throws -> [String] {
        var out: [String] = []
        for try await text in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(String.self) {
            out.append(text)
        }
        return out
    }

    func texts(_ store: Store, _ sql: String) async throws -> [String] {
        try await store.client.withConnection { try await Self.texts($0, sql, logger) }
    }

    /// Claims the job for worker `w1` (attempt 1) the way a worker does.
    func claim(_ store: Store) async throws -> Job {
        try await store.withWorkerSession(workerId: "w1", leaseSeconds: 30) { session in
            try await session.turn(outcomes: [], claimLimit: 1, components: nil).claimed[0]
        }
    }

    @Test("rescue commits first, then a late success report: the report is refused, the job ends error (worker-lost) once")
    func rescueThenFinish() async throws {
        let url = try await setUp("rescuefinish")
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await store.createJobs(componentId: "ok", configId: "a")
            let job = try await claim(store)
            try await store.client.query("UPDATE jobs SET lease_expires = clock_timestamp() - interval '1 second' WHERE id = \(job.id)", logger: logger)
            let (rescued, accepted) = try await race(store, first: "SELECT job_id::text FROM rescue_expired_leases()",
                second: "SELECT f::text FROM finish_jobs('w1', ARRAY[\(job.id)]::bigint[], ARRAY[1], ARRAY['success']::job_status[], ARRAY['{\"message\": \"late\"}']::jsonb[]) f")
            #expect(rescued.count == 1)
            #expect(accepted.isEmpty, "the late report is refused")
            let final = try await store.job(id: job.id)!
            #expect(final.status == .error && final.result?["reason"] == "worker-lost")
        }
    }

    @Test("a finish commits first, then the rescuer looks: it rescues nothing")
    func finishThenRescue() async throws {
        let url = try await setUp("finishrescue")
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await store.createJobs(componentId: "ok", configId: "a")
            let job = try await claim(store)
            try await store.client.query("UPDATE jobs SET lease_expires = clock_timestamp() - interval '1 second' WHERE id = \(job.id)", logger: logger)
            // The rescuer skips a row another transaction holds (SKIP LOCKED): it does not wait.
            try await store.client.withConnection { a in
                try await a.query("BEGIN", logger: logger)
                let accepted = try await Self.texts(a, "SELECT f::text FROM finish_jobs('w1', ARRAY[\(job.id)]::bigint[], ARRAY[1], ARRAY['success']::job_status[], ARRAY['{}']::jsonb[]) f", logger)
                #expect(accepted == [String(job.id)])
                let rescued = try await texts(store, "SELECT job_id::text FROM rescue_expired_leases()")
                #expect(rescued.isEmpty)
                try await a.query("COMMIT", logger: logger)
            }
            #expect(try await texts(store, "SELECT job_id::text FROM rescue_expired_leases()").isEmpty)
            #expect(try await store.job(id: job.id)?.status == .success)
        }
    }

    @Test("a kill commits first, then an error report with a retry left: the job is not queued again; it ends error, once")
    func killThenFailingFinish() async throws {
        let url = try await setUp("killfinish")
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await store.createJobs(componentId: "ok", configId: "a", retries: 2, retryDelaySeconds: 0)
            let job = try await claim(store)
            let (killed, accepted) = try await race(store, first: "SELECT kill_job(\(job.id))",
                second: "SELECT f::text FROM finish_jobs('w1', ARRAY[\(job.id)]::bigint[], ARRAY[1], ARRAY['error']::job_status[], ARRAY['{\"message\": \"failed\"}']::jsonb[]) f")
            #expect(killed == ["terminating"])
            #expect(accepted == [String(job.id)], "the worker's report ends the job")
            let final = try await store.job(id: job.id)!
            #expect(final.status == .error, "a killed job is not queued again (it was \(final.status))")
            #expect(final.desiredStatus == .terminating && final.attempt == 1 && final.endTime != nil)
        }
    }

    @Test("a kill commits first, then the claim that picked the job: the claim takes nothing, the job stays cancelled")
    func killThenClaim() async throws {
        let url = try await setUp("killclaim")
        try await Store.withStore(url: url, logger: logger) { store in
            let job = try await store.createJobs(componentId: "ok", configId: "a")[0]
            let (killed, claimed) = try await race(store, first: "SELECT kill_job(\(job.id))",
                second: "SELECT id::text FROM claim_jobs('w1', 1, NULL, 30)")
            #expect(killed == ["cancelled"])
            #expect(claimed.isEmpty)
            let final = try await store.job(id: job.id)!
            #expect(final.status == .cancelled && final.startTime == nil && final.attempt == 0)
        }
    }

    @Test("a claim commits first, then a kill: the job is terminating, for its worker to stop")
    func claimThenKill() async throws {
        let url = try await setUp("claimkill")
        try await Store.withStore(url: url, logger: logger) { store in
            let job = try await store.createJobs(componentId: "ok", configId: "a")[0]
            let (claimed, killed) = try await race(store, first: "SELECT id::text FROM claim_jobs('w1', 1, NULL, 30)",
                second: "SELECT kill_job(\(job.id))")
            #expect(claimed == [String(job.id)])
            #expect(killed == ["terminating"])
            let final = try await store.job(id: job.id)!
            #expect(final.status == .terminating && final.workerId == "w1" && final.attempt == 1)
        }
    }

    @Test("a heartbeat after the lease ran out renews nothing, before the rescue, during it and after a new claim of the job")
    func heartbeatAfterLease() async throws {
        let url = try await setUp("rescueheartbeat")
        try await Store.withStore(url: url, logger: logger) { store in
            _ = try await store.createJobs(componentId: "ok", configId: "a", retries: 1, retryDelaySeconds: 0)
            let job = try await claim(store)
            let renew = "SELECT job_id::text FROM renew_leases('w1', ARRAY[\(job.id)]::bigint[], ARRAY[1], 30)"
            #expect(try await texts(store, renew) == [String(job.id)], "a live lease is renewed")
            try await store.client.query("UPDATE jobs SET lease_expires = clock_timestamp() - interval '1 second' WHERE id = \(job.id)", logger: logger)
            #expect(try await texts(store, renew).isEmpty, "a lease that ran out is not brought back, though the rescuer has not run")
            // The rescue holds the row: the heartbeat does not wait for it, and renews nothing.
            try await store.client.withConnection { a in
                try await a.query("BEGIN", logger: logger)
                #expect(try await Self.texts(a, "SELECT job_id::text FROM rescue_expired_leases()", logger) == [String(job.id)])
                #expect(try await texts(store, renew).isEmpty)
                try await a.query("COMMIT", logger: logger)
            }
            // The same worker claims the job again: attempt 2. A heartbeat for attempt 1 renews nothing.
            let again = try await claim(store)
            #expect(again.id == job.id && again.attempt == 2)
            #expect(try await texts(store, renew).isEmpty)
            #expect(try await texts(store, "SELECT job_id::text FROM renew_leases('w1', ARRAY[\(job.id)]::bigint[], ARRAY[2], 30)") == [String(job.id)])
        }
    }
}
