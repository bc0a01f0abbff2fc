import BatonModel
import BatonStore
import Logging
import ServiceLifecycle
import Synchronization

/// What a service loop is told: outcomes of finished jobs, jobs someone asked to kill, and a
/// shutdown request, plus a coalescing wake-up signal (many posts while the loop is busy make one).
final class Mailbox: @unchecked Sendable {
    private let state = Mutex<(outcomes: [JobOutcome], kills: Set<Int64>, shutdown: Bool)>(([], [], false))
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

    func requestShutdown() {
        state.withLock { $0.shutdown = true }
        wake()
    }

    /// A NOTIFY payload: `kill:ID,ID,...` names jobs to stop; anything else only wakes.
    func notified(_ payload: String) {
        if payload.hasPrefix("kill:") {
            let ids = payload.dropFirst(5).split(separator: ",").compactMap { Int64($0) }
            state.withLock { $0.kills.formUnion(ids) }
        }
        wake()
    }

    func take() -> (outcomes: [JobOutcome], kills: Set<Int64>, shutdown: Bool) {
        state.withLock { state in
            defer { state.outcomes.removeAll(); state.kills.removeAll() }
            return (state.outcomes, state.kills, state.shutdown)
        }
    }

    func wait() async { _ = await iterator.next() }
}


extension Mailbox {
    /// Runs `body` (a service's loop) with a mailbox woken by every NOTIFY on `baton_jobs` and by
    /// a `tick`, the fallback; graceful shutdown is posted to the mailbox. Returns when `body` does.
    static func serve(store: Store, tick: Duration, logger: Logger, _ body: @escaping @Sendable (Mailbox) async -> Void) async {
        let mailbox = Mailbox()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen(store: store, mailbox: mailbox, logger: logger) }
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
    private static func listen(store: Store, mailbox: Mailbox, logger: Logger) async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                // The first call comes once LISTEN is in place: it covers anything sent while not listening.
                try await store.listenForJobs { mailbox.notified($0) }
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
