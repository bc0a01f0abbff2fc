import BatonModel
import BatonStore
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Claims jobs in batches and runs them, up to `concurrency` at once.
///
/// One leased connection serves the claim loop: it claims, records outcomes in batches and
/// heartbeats. A second connection LISTENs on `baton_jobs`; polling is only the fallback.
public final class Worker: Service, Sendable {
    public struct Configuration: Sendable {
        /// Jobs run at once. Default 4.
        public var concurrency: Int = 4
        /// Only these components; nil for all. Default nil.
        public var components: [String]? = nil
        /// Most jobs claimed by one statement; nil (the default) claims for every free slot at
        /// once. Claims are the costly part of a turn, so fewer, fuller ones go furthest: in
        /// bench/run 4 workers of concurrency 32 drained 7,600 jobs/s claiming 32 at a time and
        /// 4,100 claiming 10 (bench/results, 2026-11-28).
        public var batchSize: Int? = nil
        /// The claim limit in effect: `batchSize`, or `concurrency` when it is nil.
        public var claimBatch: Int { batchSize ?? concurrency }
        /// How long a turn may wait for more free slots when fewer than a quarter of a claim
        /// batch are free. Default 5 ms.
        public var gatherWindow: Duration = .milliseconds(5)
        /// Fallback poll when no notification arrives. Default 2 s.
        public var pollInterval: Duration = .seconds(2)
        /// A running job's lease; renewed every quarter of it. A job whose lease is not renewed
        /// for two thirds of it stops itself (the fence); past it, the coordinator counts the
        /// job's worker as lost. Default 20 s.
        public var leaseSeconds: Double = 20
        /// On SIGTERM, running jobs get this long to finish; then they are stopped and end error
        /// (reason worker-shutdown) or are queued again when they have automatic retries. Default 30 s.
        public var drainSeconds: Double = 30
        /// Benchmark trace on standard output (`--trace`): `S JOB UNIXTIME` when a job's executor
        /// starts, `T MS CLAIMED` for each turn that claimed (its round trip in milliseconds).
        public var trace: TraceOutput? = nil
        /// Identifies this worker in `jobs.worker_id`. Default host-pid.
        public var workerId: String = Worker.defaultWorkerId()
        /// How it hears of new jobs: LISTEN (default), a wake-up relay, or only polling.
        public var wakeups: Wakeups = .listen
        /// What jobs get (environment, user, sql targets, outbound policy, secret keys). Default:
        /// nothing of the worker's (ExecutionPolicy).
        public var execution = ExecutionPolicy()

        public init() {}

        public func validated() throws -> Configuration {
            guard (1...1000).contains(concurrency) else { throw BatonError(.invalidInput, "concurrency must be from 1 to 1000", field: "concurrency") }
            if let batchSize, !(1...1000).contains(batchSize) { throw BatonError(.invalidInput, "batch size must be from 1 to 1000", field: "batch-size") }
            guard leaseSeconds >= 3 else { throw BatonError(.invalidInput, "lease must be at least 3 seconds", field: "lease-seconds") }
            if let components, components.isEmpty { throw BatonError(.invalidInput, "components must name at least one component", field: "components") }
            return self
        }
    }

    let store: Store
    let configuration: Configuration
    let logger: Logger
    let claimDuration = Timer(label: MetricNames.claimDuration)
    let heartbeatLag = Gauge(label: MetricNames.heartbeatLag)

    public init(store: Store, configuration: Configuration, logger: Logger) {
        self.store = store
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "baton.worker_id"] = "\(configuration.workerId)"
        self.logger = logger
    }

    public static func defaultWorkerId() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(getpid())"
    }

    public func run() async throws {
        await store.poolStarted()
        logger.info("worker started", metadata: ["baton.concurrency": "\(configuration.concurrency)"])
        let tick = min(configuration.pollInterval, .seconds(configuration.leaseSeconds / 3))
        // With LISTEN, the worker's rank (its place among live workers) decides which new jobs it
        // claims at once; the relay picks the workers itself.
        await Mailbox.serve(store: store, tick: tick, wakeups: configuration.wakeups,
                            relayRole: .worker(id: configuration.workerId, components: configuration.components),
                            rankOf: configuration.wakeups == .listen ? configuration.workerId : nil,
                            logger: logger) { mailbox in await self.claimLoop(mailbox) }
        // The row in workers says it stopped; a worker that cannot say so is found gone after two
        // leases. At most 5 s (or a lease) of waiting: the pool would wait for a database that is gone for ever.
        let (store, workerId, leaseSeconds) = (self.store, configuration.workerId, configuration.leaseSeconds)
        let said: Result<Void, any Error>? = await withTaskGroup(of: Result<Void, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await store.stopWorker(id: workerId)) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(min(leaseSeconds, 5)))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch said {
        case .success: break
        case .failure(let error):
            logger.warning("could not mark the worker stopped", metadata: ["error": "\(String(reflecting: error).prefix(200))"])
        case nil:
            logger.warning("could not mark the worker stopped: the database did not answer in time")
        }
        logger.info("worker stopped")
    }

    /// Each turn records every outcome that arrived since the last one and claims for the free
    /// slots, in one transaction (one commit), then waits for the next wake-up. Outcomes that
    /// arrive while a turn runs are batched into the next.
    ///
    /// Every quarter of the lease the worker renews the leases of the jobs it runs; each renewal
    /// the database confirms moves a job's fence to (when it was sent) + 2/3 of the lease. A job
    /// the database no longer gives it, or whose fence passes (no connection, a stall), is stopped
    /// at once and nothing is recorded for it. After reconnecting, the worker gives back the jobs
    /// the database says it holds but it does not run (a claim whose reply was lost).
    func claimLoop(_ mailbox: Mailbox) async {
        var running: [JobKey: JobControl] = [:]
        var pending: [JobOutcome] = []   // taken from the mailbox, not yet recorded
        var abandoned = Set<JobKey>()    // stopped by the fence, or unrecordable: left to the coordinator's rescuer
        var inherited: Set<JobKey>? = nil // held under this worker id by an earlier process: left to the rescuer
        var draining = false
        var drainDeadline = ContinuousClock.now
        var lastHeartbeat = ContinuousClock.now
        var backoff = Duration.milliseconds(100)
        var gatheringSince: ContinuousClock.Instant? = nil
        var answering = 0                // the relay's wake-up this turn answers
        let minTurn = max(1, configuration.claimBatch / 4)
        let heartbeatEvery = Duration.seconds(configuration.leaseSeconds / 4)
        let fenceAfter = Int64(configuration.leaseSeconds * JobControl.fenceFraction * 1000)
        let sink = EventBuffer(store: store, logger: logger)
        let workerId = configuration.workerId

        await withTaskGroup(of: Void.self) { jobs in
            jobs.addTask { await sink.run() }
            while !(draining && running.isEmpty) {
                do {
                    // The pool waits for a connection as long as it takes: a worker whose
                    // database is gone would wait there and never read its mailbox (SIGTERM
                    // included). A connection of its own, given up after 3 s, says whether the
                    // database answers; if not, the attempt fails here and the worker goes on to
                    // its backoff, where it sees a shutdown.
                    try await Store.checkReachable(url: store.url, logger: logger, timeout: .seconds(3))
                    try await store.withWorkerSession(workerId: workerId, leaseSeconds: configuration.leaseSeconds) { session in
                        try await reconcile(session, running: Set(running.keys), abandoned: abandoned, inherited: &inherited)
                        lastHeartbeat = ContinuousClock.now - heartbeatEvery // renew at once on a new connection
                        while true {
                            try session.checkOpen()
                            let mail = mailbox.take()
                            answering = max(answering, mail.answering)
                            // The relay passed a kill on: the heartbeat asks PostgreSQL which jobs.
                            if mail.checkKills { lastHeartbeat = ContinuousClock.now - heartbeatEvery }
                            pending += mail.outcomes
                            for key in mail.abandoned {
                                running[key] = nil
                                abandoned.insert(key)
                            }
                            for (key, control) in running where mail.kills.contains(key.id) { control.stop(.kill) }
                            if mail.shutdown && !draining {
                                draining = true
                                drainDeadline = .now + .milliseconds(Int(configuration.drainSeconds * 1000))
                                logger.info("shutting down: no more claims; running jobs get \(configuration.drainSeconds) s to finish",
                                            metadata: ["baton.running": "\(running.count - pending.count)"])
                            }
                            if draining && ContinuousClock.now >= drainDeadline {
                                for control in running.values { control.stop(.shutdown) }
                            }
                            let free = draining ? 0 : configuration.concurrency - running.count + pending.count
                            let limit = min(free, configuration.claimBatch)
                            // Fuller turns: with only a few slots free (outcomes trickling in, or
                            // another worker's NOTIFY), wait up to `gatherWindow` for more to free
                            // up, so one commit records and claims several jobs. Kills, shutdown
                            // and an idle worker (all slots free) turn at once.
                            if limit > 0 && limit < minTurn && mail.kills.isEmpty && !draining {
                                let now = ContinuousClock.now
                                let since = gatheringSince ?? now
                                if now - since < configuration.gatherWindow {
                                    if gatheringSince == nil {
                                        gatheringSince = now
                                        let window = configuration.gatherWindow
                                        Task { try? await Task.sleep(for: window); mailbox.wake() }
                                    }
                                    await mailbox.wait()
                                    continue
                                }
                            }
                            gatheringSince = nil
                            var batch: [Job] = []
                            if !pending.isEmpty || limit > 0 {
                                let turnStarted = ContinuousClock.now
                                let sent = Monotonic.nowMs()
                                let (accepted, claimedJobs, unrecorded) = try await recordAndClaim(session, outcomes: pending, claimLimit: limit)
                                if limit > 0 { claimDuration.record(duration: ContinuousClock.now - turnStarted) }
                                if let trace = configuration.trace, limit > 0 {
                                    let elapsed = ContinuousClock.now - turnStarted
                                    trace.write("T \(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000) \(claimedJobs.count)")
                                }
                                for outcome in pending {
                                    let key = JobKey(id: outcome.id, attempt: outcome.attempt)
                                    running[key] = nil
                                    if unrecorded.contains(key) {
                                        abandoned.insert(key)
                                    } else if !accepted.contains(outcome.id) {
                                        logger.warning("outcome refused: the job is no longer this worker's", metadata: ["baton.job_id": "\(outcome.id)"])
                                    }
                                }
                                pending.removeAll()
                                batch = claimedJobs
                                for job in batch {
                                    Counter(label: MetricNames.jobsClaimed, dimensions: [("component", job.componentId)]).increment()
                                    let key = JobKey(id: job.id, attempt: job.attempt)
                                    let control = JobControl(key: key, fenceDeadline: sent + fenceAfter)
                                    running[key] = control
                                    jobs.addTask { await self.execute(job, control: control, sink: sink, mailbox: mailbox) }
                                }
                            }
                            if ContinuousClock.now - lastHeartbeat >= heartbeatEvery {
                                let late = ContinuousClock.now - lastHeartbeat - heartbeatEvery
                                heartbeatLag.record(Double(late.components.seconds) + Double(late.components.attoseconds) / 1e18)
                                let sent = Monotonic.nowMs()
                                // A fenced job is not renewed again: the rescuer ends it after its lease.
                                let renewing = running.filter { !$0.value.isFenced }
                                let (held, kill) = try await session.heartbeat(renewing.keys.map { ($0.id, $0.attempt) }, running: running.count)
                                for (key, control) in renewing {
                                    if held.contains(key.id) {
                                        control.renew(until: sent + fenceAfter)
                                        if kill.contains(key.id) { control.stop(.kill) }
                                    } else if !pending.contains(where: { $0.id == key.id && $0.attempt == key.attempt }) {
                                        logger.warning("job no longer held by this worker (rescued or claimed again): stopping it at once",
                                                       metadata: ["baton.job_id": "\(key.id)", "baton.attempt": "\(key.attempt)"])
                                        control.stop(.fenced)
                                    }
                                }
                                lastHeartbeat = .now
                            }
                            backoff = .milliseconds(100)
                            mailbox.report(free: draining ? 0 : max(0, configuration.concurrency - running.count), took: batch.count, answering: answering)
                            answering = 0
                            if draining && running.isEmpty { return }
                            // A full batch with slots still free: there may be more to claim now.
                            if batch.count == configuration.claimBatch && running.count < configuration.concurrency { continue }
                            await mailbox.wait()
                        }
                    }
                } catch {
                    logger.warning("claim loop failed; retrying with a new connection", metadata: ["error": "\(String(reflecting: error).prefix(300))"])
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(5))
                    // A shutdown while the database cannot be reached: the mailbox is read only on
                    // a connection, so without this the worker would retry forever and never exit.
                    // Jobs it runs go on until they end, their fence passes or the drain time is
                    // up; then it exits, whatever it could not record left to the rescuer.
                    if mailbox.shutdownRequested && offlineShutdown(mailbox, &running, &pending, &abandoned, &draining, &drainDeadline) {
                        break
                    }
                }
            }
            sink.close()
        }
    }

    /// A step of a graceful shutdown without a database connection: takes the mailbox (outcomes,
    /// jobs stopped by their fence, kills), starts the drain if it has not started, and stops the
    /// jobs still running once the drain time is up. True when no job process is left: the
    /// worker may exit (outcomes it holds cannot be recorded; the coordinator's rescuer ends
    /// those jobs after their lease). A connection that comes back first records them as usual.
    func offlineShutdown(_ mailbox: Mailbox, _ running: inout [JobKey: JobControl], _ pending: inout [JobOutcome],
                         _ abandoned: inout Set<JobKey>, _ draining: inout Bool, _ drainDeadline: inout ContinuousClock.Instant) -> Bool {
        let mail = mailbox.take()
        pending += mail.outcomes
        for key in mail.abandoned {
            running[key] = nil
            abandoned.insert(key)
        }
        for (key, control) in running where mail.kills.contains(key.id) { control.stop(.kill) }
        if !draining {
            draining = true
            drainDeadline = .now + .milliseconds(Int(configuration.drainSeconds * 1000))
            logger.info("shutting down while the database cannot be reached: no more claims; running jobs get \(configuration.drainSeconds) s to finish",
                        metadata: ["baton.running": "\(running.count - pending.count)"])
        }
        let ended = Set(pending.map { JobKey(id: $0.id, attempt: $0.attempt) })
        let stillRunning = running.filter { !ended.contains($0.key) }
        if stillRunning.isEmpty {
            if !pending.isEmpty {
                logger.warning("exiting with outcomes the database could not be told: the coordinator ends those jobs after their lease",
                               metadata: ["baton.jobs": "\(pending.map(\.id).sorted())"])
            }
            return true
        }
        if ContinuousClock.now >= drainDeadline {
            for control in stillRunning.values { control.stop(.shutdown) }
        }
        return false
    }

    /// On every new connection: the first time, register this worker (its row in `workers`) and
    /// note the jobs an earlier process with this worker id left (the rescuer ends them after their lease); after a reconnect, give back the
    /// jobs the database says this worker holds but it does not run: a turn that committed but
    /// whose reply was lost claimed them.
    func reconcile(_ session: WorkerSession, running: Set<JobKey>, abandoned: Set<JobKey>, inherited: inout Set<JobKey>?) async throws {
        guard let earlier = inherited else {
            try await session.register(concurrency: configuration.concurrency, components: configuration.components, version: batonVersion)
            let held = Set(try await session.heldJobs().map { JobKey(id: $0.id, attempt: $0.attempt) })
            if !held.isEmpty {
                logger.warning("\(held.count) jobs were held under this worker id by an earlier process: the coordinator ends them after their lease",
                               metadata: ["baton.jobs": "\(held.map(\.description).sorted())"])
            }
            inherited = held
            return
        }
        let keep = running.union(abandoned).union(earlier)
        for (id, outcome) in try await session.releaseJobs(keep: keep.map { ($0.id, $0.attempt) }) {
            logger.warning("gave back a job claimed in a turn whose reply was lost", metadata: ["baton.job_id": "\(id)", "baton.status": "\(outcome)"])
        }
    }

    /// Records `outcomes` and claims up to `claimLimit` jobs in one turn. When the database
    /// refuses the turn because of what an outcome holds, each outcome is recorded on its own; one
    /// that is still refused ends `error` with reason `unrecordable-output` (or, refused even so, is
    /// left to the rescuer and returned in `unrecorded`), and the claim goes on.
    func recordAndClaim(_ session: WorkerSession, outcomes: [JobOutcome], claimLimit: Int) async throws
        -> (accepted: Set<Int64>, claimed: [Job], unrecorded: Set<JobKey>) {
        do {
            let (accepted, claimed) = try await session.turn(outcomes: outcomes, claimLimit: claimLimit, components: configuration.components)
            return (accepted, claimed, [])
        } catch let error as BatonError where error.code == .refused && !outcomes.isEmpty {
            logger.warning("the database refused a turn recording \(outcomes.count) outcomes; recording them one by one", metadata: ["error": "\(error.message)"])
        }
        var accepted = Set<Int64>()
        var unrecorded = Set<JobKey>()
        for outcome in outcomes {
            do {
                accepted.formUnion(try await session.turn(outcomes: [outcome], claimLimit: 0, components: nil).accepted)
            } catch let error as BatonError where error.code == .refused {
                logger.error("the job's outcome could not be recorded: it ends error (unrecordable-output)",
                             metadata: ["baton.job_id": "\(outcome.id)", "error": "\(error.message)"])
                let replacement = JobOutcome(id: outcome.id, attempt: outcome.attempt, status: .error,
                                             result: ["message": .string("the job's outcome could not be recorded: \(error.message)"), "reason": "unrecordable-output"])
                do {
                    accepted.formUnion(try await session.turn(outcomes: [replacement], claimLimit: 0, components: nil).accepted)
                } catch let error as BatonError where error.code == .refused {
                    logger.error("not even an error could be recorded for the job: the coordinator ends it after its lease",
                                 metadata: ["baton.job_id": "\(outcome.id)", "error": "\(error.message)"])
                    unrecorded.insert(JobKey(id: outcome.id, attempt: outcome.attempt))
                }
            }
        }
        let (_, claimed) = try await session.turn(outcomes: [], claimLimit: claimLimit, components: configuration.components)
        return (accepted, claimed, unrecorded)
    }

    func execute(_ job: Job, control: JobControl, sink: EventBuffer, mailbox: Mailbox) async {
        var logger = self.logger
        logger[metadataKey: "baton.job_id"] = "\(job.id)"
        logger.debug("job started", metadata: ["baton.component_id": "\(job.componentId)", "baton.config_id": "\(job.configId)"])
        if let trace = configuration.trace { trace.write("S \(job.id) \(Date().timeIntervalSince1970)") }
        let events = sink.sink(for: job.id)
        let jobLogger = logger
        let started = ContinuousClock.now
        let outcome = await control.run(timeoutSeconds: job.timeoutSeconds, events: events) {
            await Executors.run(job, events: events, control: control, policy: self.configuration.execution, logger: jobLogger)
        }
        let dropped = events.close()
        // Its output first, so a job is never final before its lines are stored; but a database
        // that does not answer must not keep the outcome (or the fence) waiting longer than a lease.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await sink.flush() }
            group.addTask { try? await Task.sleep(for: .seconds(self.configuration.leaseSeconds)) }
            await group.next()
            group.cancelAll()
        }
        if outcome.fenced {
            logger.warning("job stopped: its lease could not be renewed in time; nothing is recorded for it")
            mailbox.abandon(control.key)
            return
        }
        logger.debug("job ended", metadata: ["baton.status": "\(outcome.status.rawValue)"])
        Timer(label: MetricNames.jobDuration, dimensions: [("component", job.componentId)]).record(duration: ContinuousClock.now - started)
        Counter(label: MetricNames.jobsFinished, dimensions: [("component", job.componentId), ("status", outcome.status.rawValue)]).increment()
        var result = outcome.result
        if dropped > 0, case .object(var object) = result {
            object["droppedLines"] = .number(Double(dropped))
            result = .object(object)
        }
        mailbox.post(JobOutcome(id: job.id, attempt: job.attempt, status: outcome.status, result: OutputLimits.result(result)))
    }
}

/// Collects job output lines and writes them as job events in batches.
final class EventBuffer: Sendable {
    /// One job attempt's events: at most `OutputLimits.eventsPerJob` output lines, each cleaned
    /// and cut; system events always.
    final class JobSink: EventSink {
        let buffer: EventBuffer
        let jobId: Int64
        private let counts = Mutex((lines: 0, dropped: 0))

        init(buffer: EventBuffer, jobId: Int64) {
            self.buffer = buffer
            self.jobId = jobId
        }

        func emit(_ stream: EventStream, _ message: String) {
            if stream != .system {
                let keep = counts.withLock { counts -> Bool in
                    guard counts.lines < OutputLimits.eventsPerJob else { counts.dropped += 1; return false }
                    counts.lines += 1
                    return true
                }
                guard keep else { return }
            }
            var text = OutputLimits.clean(message)
            if text.utf8.count > OutputLimits.lineBytes { text = OutputLimits.cut(text, bytes: OutputLimits.lineBytes) }
            buffer.add(NewEvent(jobId: jobId, stream: stream, message: text))
        }

        /// Ends the job's events, with one saying how many lines were not recorded; returns that count.
        func close() -> Int {
            let dropped = counts.withLock { $0.dropped }
            if dropped > 0 {
                buffer.add(NewEvent(jobId: jobId, stream: .system,
                                    message: "\(dropped) more output lines were not recorded: a job records at most \(OutputLimits.eventsPerJob) (the result keeps the last \(ProcessExecutor.keptLines))"))
            }
            return dropped
        }
    }

    private let state = Mutex<(events: [NewEvent], closed: Bool)>(([], false))
    private let store: Store
    private let logger: Logger
    private let (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))

    init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func sink(for jobId: Int64) -> JobSink { JobSink(buffer: self, jobId: jobId) }

    func add(_ event: NewEvent) {
        state.withLock { $0.events.append(event) }
        signal.yield()
    }

    func close() {
        state.withLock { $0.closed = true }
        signal.finish()
    }

    /// Writes what is buffered now.
    func flush() async {
        let batch = state.withLock { state -> [NewEvent] in
            defer { state.events.removeAll() }
            return state.events
        }
        guard !batch.isEmpty else { return }
        do {
            let dropped = try await store.appendEvents(batch)
            if dropped > 0 { logger.warning("\(dropped) of \(batch.count) job events could not be stored") }
        } catch {
            logger.warning("could not write \(batch.count) job events", metadata: ["error": "\(String(reflecting: error).prefix(200))"])
        }
    }

    func run() async {
        for await _ in signals {
            try? await Task.sleep(for: .milliseconds(100)) // gather lines into one insert
            await flush()
        }
        await flush()
    }
}

/// Lines written to standard output at once (unbuffered), for benchmarks that time a worker
/// from outside: bench/bench.py reads `--trace`.
public final class TraceOutput: Sendable {
    private let lock = Mutex<Void>(())
    public init() {}
    public func write(_ line: String) {
        lock.withLock { _ in
            var bytes = Array((line + "\n").utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { buffer in
                    Foundation.write(1, buffer.baseAddress! + offset, buffer.count - offset)
                }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
