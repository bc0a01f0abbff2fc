import BatonModel
import BatonStore
import Logging
import ServiceLifecycle
import Synchronization

/// What a service loop is told: outcomes of finished jobs, jobs someone asked to kill, and a
/// shutdown request, plus a coalescing wake-up signal (many posts while the loop is busy make one).
final class Mailbox: @unchecked Sendable {
    private let state = Mutex<(outcomes: [JobOutcome], abandoned: [JobKey], kills: Set<Int64>, shutdown: Bool, answering: Int, checkKills: Bool)>(
        ([], [], [], false, 0, false))
    /// The wake-up relay, when the process hears of jobs through one.
    let relay: RelayClient?
    /// This worker's position among the live workers and their number (`live_workers()`);
    /// nil for a service without a rank (the coordinator), before it is known, or while the
    /// worker is not among them.
    private let rank = Mutex<(position: Int, count: Int)?>(nil)
    /// How long a worker whose turn it is not waits before it looks at new jobs anyway.
    static let fallbackDelay = Duration.milliseconds(25)
    private let continuation: AsyncStream<Void>.Continuation
    /// Only the claim loop waits, one call at a time.
    private var iterator: AsyncStream<Void>.Iterator

    init(relay: RelayClient? = nil) {
        self.relay = relay
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.continuation = continuation
        self.iterator = stream.makeAsyncIterator()
    }

    func wake() { continuation.yield() }

    func post(_ outcome: JobOutcome) {
        state.withLock { $0.outcomes.append(outcome) }
        wake()
    }

    /// A job stopped by its fence: nothing is recorded for it.
    func abandon(_ key: JobKey) {
        state.withLock { $0.abandoned.append(key) }
        wake()
    }

    func requestShutdown() {
        state.withLock { $0.shutdown = true }
        wake()
    }

    /// Whether a graceful shutdown was asked for (what `take()` says, without taking anything).
    var shutdownRequested: Bool { state.withLock { $0.shutdown } }

    func setRank(position: Int, count: Int) {
        rank.withLock { $0 = count > 0 && position >= 0 ? (position, count) : nil }
    }

    /// A NOTIFY payload: `kill:ID,ID,...` names jobs to stop; `created:FIRST:COUNT[:COMPONENTS]` wakes at once
    /// the workers whose turn it is (positions FIRST mod ranks .. + COUNT - 1) and the others
    /// after `fallbackDelay`; anything else only wakes.
    func notified(_ payload: String) {
        if payload.hasPrefix("kill:") {
            let ids = payload.dropFirst(5).split(separator: ",").compactMap { Int64($0) }
            state.withLock { $0.kills.formUnion(ids) }
        } else if payload.hasPrefix("created:"), let (position, count) = rank.withLock({ $0 }) {
            let parts = payload.dropFirst(8).split(separator: ":")
            if parts.count >= 2, let first = Int64(parts[0]), let n = Int64(parts[1]),
               !Mailbox.isFirstPick(position: position, ranks: count, firstJob: first, jobs: n) {
                Task { [weak self] in
                    try? await Task.sleep(for: Mailbox.fallbackDelay)
                    self?.wake()
                }
                return
            }
        }
        wake()
    }

    /// Whether the worker at `position` among `ranks` workers claims at once when `jobs` new
    /// jobs starting at id `firstJob` arrive: positions firstJob mod ranks, and the next ones
    /// round the circle, one per job; every worker when the jobs are as many as the workers.
    static func isFirstPick(position: Int, ranks: Int, firstJob: Int64, jobs: Int64) -> Bool {
        guard ranks > 0, jobs < Int64(ranks), position >= 0, position < ranks else { return true }
        let offset = (Int64(position) - firstJob % Int64(ranks) + Int64(ranks)) % Int64(ranks)
        return offset < jobs
    }

    /// A line from the wake-up relay: `seq` is the wake-up to answer (0: none). A kill from the
    /// relay is only a hint: the worker asks PostgreSQL which of its jobs to kill (`checkKills`).
    func relayed(seq: Int, payload: String) {
        state.withLock { state in
            if seq > 0 { state.answering = max(state.answering, seq) }
            if payload.hasPrefix("kill:") { state.checkKills = true }
        }
        if payload.hasPrefix("kill:") { wake() } else { notified(payload) }
    }

    /// Everything posted since the last call: outcomes, jobs abandoned by their fence, jobs to
    /// kill, whether to shut down, the relay's wake-up to answer (0: none) and whether the relay
    /// passed on a kill (ask the database which jobs).
    func take() -> (outcomes: [JobOutcome], abandoned: [JobKey], kills: Set<Int64>, shutdown: Bool, answering: Int, checkKills: Bool) {
        state.withLock { state in
            defer {
                state.outcomes.removeAll(); state.abandoned.removeAll(); state.kills.removeAll()
                state.answering = 0; state.checkKills = false
            }
            return (state.outcomes, state.abandoned, state.kills, state.shutdown, state.answering, state.checkKills)
        }
    }

    /// A worker's report to the relay after a turn (nothing without a relay).
    func report(free: Int, took: Int, answering: Int) {
        relay?.report(free: free, took: took, answering: answering)
    }

    func wait() async { _ = await iterator.next() }
}


extension Mailbox {
    /// Runs `body` (a service's loop) with a mailbox woken by the notifications of `baton_jobs`
    /// (LISTEN, or the wake-up relay, as `wakeups` says) and by a `tick` (±20 %, so a fleet does
    /// not poll in step), the fallback; graceful shutdown is posted to the mailbox. Returns when
    /// `body` does. `relayRole` says who this process is to the relay.
    static func serve(store: Store, tick: Duration, wakeups: Wakeups = .listen, relayRole: RelayClient.Role? = nil,
                      rankOf workerId: String? = nil, logger: Logger, _ body: @escaping @Sendable (Mailbox) async -> Void) async {
        var relay: RelayClient? = nil
        if case .relay(let host, let port) = wakeups, let relayRole {
            relay = RelayClient(host: host, port: port, role: relayRole, logger: logger)
        }
        let mailbox = Mailbox(relay: relay)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                switch wakeups {
                case .listen: group.addTask { await listen(store: store, mailbox: mailbox, rankOf: workerId, logger: logger) }
                case .relay: if let relay { group.addTask { await relay.run { mailbox.relayed(seq: $0, payload: $1) } } }
                case .poll: break
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: tick * Double.random(in: 0.8...1.2))
                        mailbox.wake()
                    }
                }
                await body(mailbox)
                group.cancelAll()
            }
        } onGracefulShutdown: {
            mailbox.requestShutdown()
        }
    }

    /// LISTEN on `baton_jobs` and turn each notification into a wake-up; reconnect with backoff.
    private static func listen(store: Store, mailbox: Mailbox, rankOf workerId: String?, logger: Logger) async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                // The first call comes once LISTEN is in place: it covers anything sent while not listening.
                try await store.listenForJobs(rankOf: workerId, onRank: { mailbox.setRank(position: $0, count: $1) }, onDeaf: {
                    logger.warning("LISTEN hears nothing (behind a pooler in transaction mode?): only polling now. Run 'baton relay' on a direct connection and start this process with --wakeups HOST:PORT, or give it a direct or session-mode DATABASE_URL")
                }) { mailbox.notified($0) }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN connection lost; reconnecting", metadata: ["error": "\(String(reflecting: error).prefix(200))"])
            }
            if ContinuousClock.now - started > .seconds(10) { backoff = .milliseconds(100) }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }
}
