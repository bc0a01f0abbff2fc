import BatonModel
import BatonStore
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Advances orchestration runs. Exactly one coordinator is active: it holds the `coordinator`
/// row of `leaders` (a lease with a term, renewed every `leaseSeconds / 5`); the others stand by
/// and try to take it every `standbyInterval`, which succeeds once the lease has run out or the
/// leader resigned (a graceful stop hands over at once; a coordinator that dies, after its lease).
///
/// The active one starts waiting runs (serialized per orchestration), then advances each run in
/// progress: creates the jobs of phases whose dependencies are done and ends runs that are over.
/// Child jobs finishing NOTIFY `baton_jobs`, which wakes it; `tickInterval` is the fallback.
public final class Coordinator: Service, Sendable {
    public struct Configuration: Sendable {
        /// Identifies this coordinator in `jobs.worker_id` of the runs it advances. Default coordinator-host-pid.
        public var coordinatorId: String = "coordinator-\(ProcessInfo.processInfo.hostName)-\(getpid())"
        /// How often a standby tries to take over. Default 1 s.
        public var standbyInterval: Duration = .seconds(1)
        /// The leadership lease: a coordinator that dies is taken over from this long after its
        /// last renewal. Renewed every fifth of it. Default 10 s.
        public var leaderLeaseSeconds: Double = 10
        /// How it hears of finished tasks and new runs: LISTEN (default), a wake-up relay, or only polling.
        public var wakeups: Wakeups = .listen
        /// Fallback turn when no notification arrives. Default 2 s.
        public var tickInterval: Duration = .seconds(2)
        /// The chores the active coordinator does beside its turns (Chores/).
        public var rescuer = Rescuer.Configuration()
        public var runLeases = RunLeaseRenewer.Configuration()
        public var schedules = ScheduleFirer.Configuration()
        public var queueSampler = QueueSampler.Configuration()
        public var notifications = Notifier.Configuration()
        /// Finished jobs older than this are pruned; nil (the default) keeps them all.
        public var retention: Retention.Configuration? = nil

        public init() {}
    }

    let store: Store
    let configuration: Configuration
    let logger: Logger
    let advanced = Counter(label: "baton_orchestration_steps_total")
    let leader = Gauge(label: MetricNames.coordinatorLeader)
    let leadership = Leadership()
    let notifier: Notifier
    /// Parsed definition snapshots by run id: a snapshot never changes, and parsing one of
    /// hundreds of tasks on every turn was most of a turn's time.
    let definitions = Mutex<[Int64: OrchestrationDefinition]>([:])

    public init(store: Store, configuration: Configuration, logger: Logger) {
        self.store = store
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "baton.coordinator_id"] = "\(configuration.coordinatorId)"
        self.logger = logger
        notifier = Notifier(store: store, configuration: configuration.notifications, logger: logger)
    }

    /// The chores this coordinator does while it leads, as services for its ServiceGroup.
    public var chores: [ChoreService] {
        var chores: [any Chore] = [
            Rescuer(store: store, configuration: configuration.rescuer, logger: logger),
            RunLeaseRenewer(store: store, coordinatorId: configuration.coordinatorId, configuration: configuration.runLeases),
            ScheduleFirer(store: store, configuration: configuration.schedules, logger: logger),
            QueueSampler(store: store, configuration: configuration.queueSampler),
            notifier,
        ]
        if let retention = configuration.retention { chores.append(Retention(store: store, configuration: retention, logger: logger)) }
        return chores.map { ChoreService($0, leadership: leadership, logger: logger) }
    }

    public func run() async throws {
        await store.poolStarted()
        // The fallback tick also paces the leadership renewal (every fifth of its lease).
        let tick = min(configuration.tickInterval, .milliseconds(Int(configuration.leaderLeaseSeconds * 200)))
        await Mailbox.serve(store: store, tick: tick, wakeups: configuration.wakeups, relayRole: .listener(id: configuration.coordinatorId),
                            logger: logger) { mailbox in await self.lead(mailbox) }
        logger.info("coordinator stopped")
    }

    /// Stand by until the leadership is ours, then advance runs until shutdown, a lost
    /// connection or a lost term.
    func lead(_ mailbox: Mailbox) async {
        var standingBy = false
        while !mailbox.take().shutdown {
            do {
                try await store.withCoordinatorSession(coordinatorId: configuration.coordinatorId) { session in
                    guard let term = try await session.tryLead(leaseSeconds: configuration.leaderLeaseSeconds) else {
                        if !standingBy { logger.info("standing by: another coordinator is active") }
                        standingBy = true
                        try? await Task.sleep(for: configuration.standbyInterval)
                        return
                    }
                    standingBy = false
                    logger.info("active coordinator", metadata: ["baton.term": "\(term)"])
                    leader.record(1)
                    leadership.set(true)
                    defer { leader.record(0); leadership.set(false) }
                    do {
                        try await advanceWhileLeading(session, mailbox)
                    } catch {
                        try? await session.resign()
                        throw error
                    }
                    try? await session.resign()
                    logger.info("resigned: a standby takes over")
                }
            } catch {
                logger.warning("coordinator step failed; standing by again", metadata: ["error": "\(String(reflecting: error).prefix(300))"])
                try? await Task.sleep(for: configuration.standbyInterval)
            }
        }
    }

    /// Turns while this coordinator leads, until shutdown; renews the leadership every fifth of
    /// its lease. The chores run beside the turns, so a slow webhook or a long prune never holds
    /// up a run.
    func advanceWhileLeading(_ session: CoordinatorSession, _ mailbox: Mailbox) async throws {
        let renewEvery = Duration.milliseconds(Int(configuration.leaderLeaseSeconds * 200))
        var renewed = ContinuousClock.now
        while true {
            if mailbox.take().shutdown { return }
            try session.checkOpen()
            if ContinuousClock.now - renewed >= renewEvery {
                let sent = ContinuousClock.now
                guard try await session.keepLead(leaseSeconds: configuration.leaderLeaseSeconds) else {
                    throw BatonError(.unavailable, "leadership lost: another coordinator took over")
                }
                renewed = sent
            }
            if try await turn(session) > 0 { notifier.wake() } // the runs that ended may have notifications
            await mailbox.wait()
        }
    }

    /// Starts waiting runs and advances every run in progress; returns how many runs ended.
    @discardableResult
    func turn(_ session: CoordinatorSession) async throws -> Int {
        var ended = 0
        let clock = ContinuousClock.now
        defer { logger.trace("turn", metadata: ["baton.turn_ms": "\((ContinuousClock.now - clock).components.attoseconds / 1_000_000_000_000_000)"]) }
        let started = try await session.startRuns(limit: 100)
        for run in started {
            logger.info("run started", metadata: ["baton.job_id": "\(run.id)", "baton.config_id": "\(run.configId)"])
        }
        let running = try await session.runningRuns()
        definitions.withLock { cache in cache = cache.filter { running.contains($0.key) } }
        for id in running {
            let cached = definitions.withLock { $0[id] != nil }
            let step = try await session.advance(runId: id, withDefinition: !cached, decide: { parent, children in
                self.decide(parent: parent, children: children)
            }, whenMissing: { missing in
                // A task's configuration was deleted after the run started: the run cannot go on.
                let names = missing.map { "task \($0.taskId) (\($0.componentId)/\($0.configId))" }.joined(separator: ", ")
                return (.error, ["message": .string("configuration no longer exists for \(names)")])
            })
            guard let step else { continue }
            advanced.increment()
            if !step.start.isEmpty {
                logger.debug("tasks started", metadata: ["baton.job_id": "\(id)", "baton.tasks": "\(step.start.map(\.taskId))"])
            }
            if let finish = step.finish {
                ended += 1
                logger.info("run ended", metadata: ["baton.job_id": "\(id)", "baton.status": "\(finish.status.rawValue)"])
            }
        }
        return ended
    }

    /// The decision for one run: which task jobs to create, whether the run is over.
    func decide(parent: RunHeader, children: [String: JobStatus]) -> RunStep {
        let definition: OrchestrationDefinition
        if let cached = definitions.withLock({ $0[parent.id] }) {
            definition = cached
        } else {
            do {
                definition = try OrchestrationDefinition.snapshot(parent.definition ?? .null)
                definitions.withLock { $0[parent.id] = definition }
            } catch let error as BatonError {
                return RunStep(finish: (.error, ["message": .string(error.message)]))
            } catch {
                return RunStep(finish: (.error, ["message": .string("\(error)")]))
            }
        }
        if parent.terminating {
            // Killed: start nothing more; end once none of its task jobs runs.
            guard children.values.allSatisfy(\.isFinal) else { return RunStep() }
            return RunStep(finish: (.terminated, ["message": "terminated on request"]))
        }
        let selected = Set(parent.selected)
        let progress = definition.progress(selected: selected, children: children)
        let start = progress.tasksToStart.map {
            ChildSpec(taskId: $0.id, phaseId: $0.phase, componentId: $0.componentId, configId: $0.configId, mode: $0.mode,
                      parameters: $0.parameters, timeoutSeconds: $0.timeoutSeconds, retries: $0.retries, retryDelaySeconds: $0.retryDelaySeconds)
        }
        var finish: (status: JobStatus, result: JSONValue)?
        if let status = progress.finalStatus {
            finish = (status, RunSummary.result(progress, status: status))
        }
        return RunStep(start: start, finish: finish)
    }
}

/// The result of a finished run: a message and each phase's status.
public enum RunSummary {
    public static func result(_ progress: RunProgress, status: JobStatus) -> JSONValue {
        let failed = progress.phases.filter { $0.status == .error }.map(\.phase.name)
        let warned = progress.phases.filter { $0.status == .warning }.map(\.phase.name)
        let message: String
        switch status {
        case .error: message = "phase \(failed.map { "'\($0)'" }.joined(separator: ", ")) failed; later phases were not executed"
        case .warning: message = "finished with failures allowed to continue in phase \(warned.map { "'\($0)'" }.joined(separator: ", "))"
        default: message = "all phases succeeded"
        }
        return ["message": .string(message),
                "phases": .array(progress.phases.map { ["id": .string($0.phase.id), "name": .string($0.phase.name), "status": .string($0.status.rawValue)] })]
    }
}
