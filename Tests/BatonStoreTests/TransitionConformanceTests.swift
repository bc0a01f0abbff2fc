import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// The SQL follows the transition table: each row of `JobTransition.all` is driven through the
/// store (claims and outcomes as a worker sends them, kills, rescues, releases), an audit trigger
/// installed by the test records every status change the database made, and each recorded change
/// must be a row of the table.
@Suite("the database follows the job transition table")
struct TransitionConformanceTests {
    let logger = TestPostgres.shared.logger

    /// Rows reachable only in a race the claim itself guards against (the configuration started
    /// running between the claim's look at the queue and its lock): not driven here.
    static let raceOnly: Set<String> = ["created --hold-for-configuration--> waiting", "waiting --hold-for-configuration--> waiting"]

    @Test("every transition the database makes is a row of the table, and every row is driven")
    func conformance() async throws {
        let url = try await TestPostgres.shared.makeDatabase("transitions", applying: """
                - {kind: component, id: ok, executor: {type: noop}}
                \(["a", "b", "c", "d", "e", "f", "g"].map { "- {kind: configuration, component: ok, id: \($0)}" }.joined(separator: "\n"))
                - {kind: project, id: small, maxParallelJobs: 2}
                - {kind: component, project: small, id: s, executor: {type: noop}}
                \(["x", "y", "z"].map { "- {kind: configuration, project: small, component: s, id: \($0)}" }.joined(separator: "\n"))
                """)
        try await Store.withStore(url: url, logger: logger) { store in
            try await store.client.query("""
                CREATE TABLE audit (job_id bigint, old_status text, new_status text, at timestamptz DEFAULT clock_timestamp())
                """, logger: logger)
            try await store.client.query("""
                CREATE FUNCTION audit_status() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        INSERT INTO audit (job_id, old_status, new_status) VALUES (NEW.id, NULL, NEW.status::text);
                    ELSIF OLD.status IS DISTINCT FROM NEW.status OR OLD.waiting_reason IS DISTINCT FROM NEW.waiting_reason THEN
                        INSERT INTO audit (job_id, old_status, new_status) VALUES (NEW.id, OLD.status::text, NEW.status::text);
                    END IF;
                    RETURN NULL;
                END $$
                """, logger: logger)
            try await store.client.query("CREATE TRIGGER audit_status AFTER INSERT OR UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION audit_status()", logger: logger)

            var driven = Set<String>()
            /// Checks that `id` went from `from` on `cause` to what the table says, and that the database did just that.
            func check(_ id: Int64, from: JobStatus?, _ cause: JobTransition.Cause, outcome: JobStatus? = nil) async throws {
                let to: JobStatus? = from.map { JobTransition.next(from: $0, on: cause, outcome: outcome) } ?? (cause == .create ? .created : .waiting)
                if cause == .pause || cause == .createPaused { #expect(try await store.job(id: id)?.waitingReason == .paused) }
                let job = try #require(try await store.job(id: id))
                #expect(job.status == to, "job \(id): \(from?.rawValue ?? "new") on \(cause) should be \(to?.rawValue ?? "illegal"), is \(job.status)")
                guard let to, let row = JobTransition.find(from: from, cause: cause, to: to) else { return }
                driven.insert(row.description)
            }
            func turn(_ worker: String = "w", outcomes: [JobOutcome] = [], limit: Int = 10, components: [String]? = nil) async throws -> [Job] {
                try await store.withWorkerSession(workerId: worker, leaseSeconds: 60) { try await $0.turn(outcomes: outcomes, claimLimit: limit, components: components).claimed }
            }
            func outcome(_ job: Job, _ status: JobStatus) -> JobOutcome { JobOutcome(id: job.id, attempt: job.attempt, status: status, result: ["message": "m"]) }
            func expire(_ id: Int64) async throws {
                try await store.client.query("UPDATE jobs SET lease_expires = clock_timestamp() - interval '1 second' WHERE id = \(id)", logger: logger)
                _ = try await store.rescueExpiredLeases()
            }

            // New jobs; the claim from created and from waiting; the outcomes.
            let a1 = try await store.createJobs(componentId: "ok", configId: "a")[0]
            try await check(a1.id, from: nil, .create)
            let a2 = try await store.createJobs(componentId: "ok", configId: "a")[0]
            try await check(a2.id, from: nil, .createBehind)
            let a3 = try await store.createJobs(componentId: "ok", configId: "a")[0]
            var claimed = try await turn(components: ["ok"])
            #expect(claimed.map(\.id) == [a1.id])
            try await check(a1.id, from: .created, .claim)
            claimed = try await turn(outcomes: [outcome(claimed[0], .success)], components: ["ok"])
            try await check(a1.id, from: .processing, .finish, outcome: .success)
            #expect(claimed.map(\.id) == [a2.id])
            try await check(a2.id, from: .waiting, .claim)
            claimed = try await turn(outcomes: [outcome(claimed[0], .warning)], components: ["ok"])
            try await check(a2.id, from: .processing, .finish, outcome: .warning)
            claimed = try await turn(outcomes: [outcome(claimed[0], .error)], limit: 0)
            try await check(a3.id, from: .processing, .finish, outcome: .error)
            // terminated and success from terminating: a kill, then the worker's report.
            let b1 = try await store.createJobs(componentId: "ok", configId: "b")[0]
            var job = try await turn(components: ["ok"])[0]
            #expect(try await store.killJob(id: b1.id) == .terminating)
            try await check(b1.id, from: .processing, .kill)
            #expect(try await store.killJob(id: b1.id) == .terminating)
            try await check(b1.id, from: .terminating, .kill)
            _ = try await turn(outcomes: [outcome(job, .terminated)], limit: 0)
            try await check(b1.id, from: .terminating, .finish, outcome: .terminated)
            for status in [JobStatus.success, .warning, .error] {
                let k = try await store.createJobs(componentId: "ok", configId: "b")[0]
                job = try await turn(components: ["ok"])[0]
                _ = try await store.killJob(id: k.id)
                _ = try await turn(outcomes: [outcome(job, status)], limit: 0)
                try await check(k.id, from: .terminating, .finish, outcome: status)
            }
            let t = try await store.createJobs(componentId: "ok", configId: "b")[0]
            job = try await turn(components: ["ok"])[0]
            _ = try await turn(outcomes: [outcome(job, .terminated)], limit: 0)
            try await check(t.id, from: .processing, .finish, outcome: .terminated)

            // Kills before the start: created and waiting end cancelled.
            let c1 = try await store.createJobs(componentId: "ok", configId: "c")[0]
            let c2 = try await store.createJobs(componentId: "ok", configId: "c")[0]
            #expect(try await store.killJob(id: c2.id) == .cancelled)
            try await check(c2.id, from: .waiting, .kill)
            #expect(try await store.killJob(id: c1.id) == .cancelled)
            try await check(c1.id, from: .created, .kill)

            // Retries: a failed attempt queued again; a rescue with a retry left; rescues without.
            let d = try await store.createJobs(componentId: "ok", configId: "d", retries: 2, retryDelaySeconds: 0)[0]
            job = try await turn(components: ["ok"])[0]
            _ = try await turn(outcomes: [outcome(job, .error)], limit: 0)
            try await check(d.id, from: .processing, .retry)
            job = try await turn(components: ["ok"])[0]
            #expect(job.id == d.id && job.attempt == 2)
            try await expire(d.id)
            try await check(d.id, from: .processing, .rescueRetry)
            job = try await turn(components: ["ok"])[0]
            #expect(job.attempt == 3)
            try await expire(d.id)
            try await check(d.id, from: .processing, .rescue)
            let e = try await store.createJobs(componentId: "ok", configId: "e")[0]
            _ = try await turn(components: ["ok"])
            _ = try await store.killJob(id: e.id)
            try await expire(e.id)
            try await check(e.id, from: .terminating, .rescue)

            // Release: a worker that reconnected gives back what it never started.
            let f1 = try await store.createJobs(componentId: "ok", configId: "f")[0]
            _ = try await turn("lost", components: ["ok"])
            let released = try await store.withWorkerSession(workerId: "lost", leaseSeconds: 60) { try await $0.releaseJobs(keep: []) }
            #expect(released.map(\.jobId) == [f1.id])
            try await check(f1.id, from: .processing, .release)
            #expect(try await store.job(id: f1.id)?.attempt == 0, "a claim that never ran is not an attempt")
            _ = try await turn("lost", components: ["ok"])
            _ = try await store.killJob(id: f1.id)
            _ = try await store.withWorkerSession(workerId: "lost", leaseSeconds: 60) { try await $0.releaseJobs(keep: []) }
            try await check(f1.id, from: .terminating, .release)

            // The project limit holds jobs back: from created, and from waiting (behind its configuration).
            let y1 = try await store.createJobs(projectId: "small", componentId: "s", configId: "y")[0]
            let x1 = try await store.createJobs(projectId: "small", componentId: "s", configId: "x")[0]
            claimed = try await turn(components: ["s"])
            #expect(Set(claimed.map(\.id)) == [y1.id, x1.id])
            let z1 = try await store.createJobs(projectId: "small", componentId: "s", configId: "z")[0]
            _ = try await turn(components: ["s"])
            try await check(z1.id, from: .created, .holdForProject)
            let y2 = try await store.createJobs(projectId: "small", componentId: "s", configId: "y")[0]
            // y1 ends; z1 (older) takes the freed slot, and y2, now its configuration's head, is held for the project.
            let y1job = claimed.first { $0.id == y1.id }!
            claimed = try await turn(outcomes: [outcome(y1job, .success)], limit: 1, components: ["s"])
            #expect(claimed.map(\.id) == [z1.id])
            _ = try await turn(components: ["s"])
            try await check(y2.id, from: .waiting, .holdForProject)

            // Pauses: queued jobs wait (paused), new ones start so; a resume queues them again,
            // behind an unfinished one of their configuration where there is one.
            let g1 = try await store.createJobs(componentId: "ok", configId: "g")[0]
            let g2 = try await store.createJobs(componentId: "ok", configId: "g")[0]
            let scope = try PauseScope(projectId: "default", componentId: "ok", configId: "g")
            #expect(try await store.pause(scope, by: "test") == (true, 2))
            try await check(g1.id, from: .created, .pause)
            try await check(g2.id, from: .waiting, .pause)
            let g3 = try await store.createJobs(componentId: "ok", configId: "g")[0]
            try await check(g3.id, from: nil, .createPaused)
            #expect(try await turn(components: ["ok"]).isEmpty, "nothing of a paused configuration is claimed")
            #expect(try await store.resume(scope) == (true, 3))
            try await check(g1.id, from: .waiting, .resume)
            try await check(g2.id, from: .waiting, .resumeBehind)

            // Every change the database made is a row of the table.
            var changes: [(Int64, String?, String)] = []
            for try await row in try await store.client.query("SELECT job_id, old_status, new_status FROM audit ORDER BY at", logger: logger).decode((Int64, String?, String).self) {
                changes.append(row)
            }
            for (id, old, new) in changes {
                let to = JobStatus(rawValue: new)!
                if let old {
                    #expect(JobTransition.isLegal(from: JobStatus(rawValue: old)!, to: to), "job \(id): \(old) -> \(new) is not in the table")
                } else {
                    #expect([.created, .waiting].contains(to), "job \(id) was created \(new)")
                }
            }
            let all = Set(JobTransition.all.map(\.description))
            #expect(all.subtracting(driven).subtracting(Self.raceOnly).sorted() == [], "rows not driven")
        }
    }
}
