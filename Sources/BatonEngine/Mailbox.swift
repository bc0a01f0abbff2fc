import BatonModel
import BatonStore
import Logging
import ServiceLifecycle
import Synchronization

/// What a service loop is told: outcomes of finished jobs, jobs someone asked to kill, and a
/// shutdown request, plus a coalescing wake-up signal (many posts while the loop is busy make one).
final class Mailbox: @unchecked Sendable {
    private let state = Mutex<(outcomes: [JobOutcome], abandoned: [JobKey], kills: Set<Int64>, shutdown: Bool)>(([], [], [], false))
    /// This worker's position among the live workers and their number (`live_workers()`);
    /// nil for a service without a rank (the coordinator), before it is known, or while the
    /// worker is not among them.
    private let rank = Mutex<(position: Int, count: Int)?>(nil)
    /// How long a worker whose turn it is not waits before it looks at new jobs anyway.
    static let fallbackDelay = Duration.milliseconds(25)
    private let continuation: AsyncStream<Void>.Continuation
    /// Only the claim loop waits, one call at a time.
    private var iterator: AsyncStream<Void>.Iterator

    init() {
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

    func setRank(position: Int, count: Int) {
        rank.withLock { $0 = count > 0 && position >= 0 ? (position, count) : nil }
    }

    /// A NOTIFY payload: `kill:ID,ID,...` names jobs to stop; `created:FIRST:COUNT` wakes at once
    /// the workers whose turn it is (positions FIRST mod ranks .. + COUNT - 1) and the others
    /// after `fallbackDelay`; anything else only wakes.
    func notified(_ payload: String) {
        if payload.hasPrefix("kill:") {
            let ids = payload.dropFirst(5).split(separator: ",").compactMap { Int64($0) }
            state.withLock { $0.kills.formUnion(ids) }
        } else if payload.hasPrefix("created:"), let (position, count) = rank.withLock({ $0 }) {
            let parts = payload.dropFirst(8).split(separator: ":")
            if parts.count == 2, let first = Int64(parts[0]), let n = Int64(parts[1]),
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

    func take() -> (outcomes: [JobOutcome], abandoned: [JobKey], kills: Set<Int64>, shutdown: Bool) {
        state.withLock { state in
            defer { state.outcomes.removeAll(); state.abandoned.removeAll(); state.kills.removeAll() }
            return (state.outcomes, state.abandoned, state.kills, state.shutdown)
        }
    }

    func wait() async { _ = await iterator.next() }
}


extension Mailbox {
    /// Runs `body` (a service's loop) with a mailbox woken by every NOTIFY on `baton_jobs` and by
    /// a `tick`, the fallback; graceful shutdown is posted to the mailbox. Returns when `body` does.
    static func serve(store: Store, tick: Duration, rankOf workerId: String? = nil, logger: Logger, _ body: @escaping @Sendable (Mailbox) async -> Void) async {
        let mailbox = Mailbox()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen(store: store, mailbox: mailbox, rankOf: workerId, logger: logger) }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: tick)
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
                try await store.listenForJobs(rankOf: workerId, onRank: { mailbox.setRank(position: $0, count: $1) }) { mailbox.notified($0) }
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
