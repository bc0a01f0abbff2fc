import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Whether this process's coordinator is the active one: set by the coordinator, read by its chores.
public final class Leadership: Sendable {
    private let state = Mutex((leading: false, term: 0))
    public init() {}
    public var isLeading: Bool { state.withLock { $0.leading } }
    /// Counts the times this coordinator became the leader: a chore ticks at once in a new term.
    var term: Int { state.withLock { $0.term } }
    func set(_ value: Bool) {
        state.withLock { state in
            if value && !state.leading { state.term += 1 }
            state.leading = value
        }
    }
}

/// A coalescing wake-up: many `wake()`s while nobody waits make one.
///
/// Not an AsyncStream: a consumer task cancelled while it waits for a stream's next element
/// finishes the stream, and every later wait then returned at once (a chore spun at 100 % CPU).
public final class WakeSignal: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else { state.pending = true; return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns on a wake-up (true) or after `timeout` (false), whichever comes first.
    func wait(upTo timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { [self] in
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        if state.pending { state.pending = false; return true }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
                return true
            }
            group.addTask { try? await Task.sleep(for: timeout); return false }
            let woken = await group.next() ?? false
            // Release the one still waiting: the sleeper by cancellation, the waiter by resuming it.
            group.cancelAll()
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
            return woken
        }
    }
}

/// Upkeep the active coordinator does on an interval of its own: rescuing lost jobs, renewing
/// run leases, firing schedules, sampling the queue, delivering notifications, pruning old jobs.
/// Each is a file of its own in Chores/ with a `Configuration` of documented defaults.
///
/// Chores act only while their coordinator leads, but each is safe to repeat and to run in two
/// coordinators at once (a leader that has just lost its lock may finish one more tick): every
/// step is one transaction fenced in its own statements.
public protocol Chore: Sendable {
    /// For logs: "rescuer", "schedule firer", ...
    var name: String { get }
    /// Time between ticks.
    var interval: Duration { get }
    /// A wake-up that starts a tick before the interval is over, if the chore has one.
    var wakeups: WakeSignal? { get }
    func tick() async throws
}

extension Chore {
    public var wakeups: WakeSignal? { nil }
}

/// Runs a chore in the coordinator's ServiceGroup: a tick every `interval` (or on a wake-up)
/// while the coordinator leads, until graceful shutdown.
public struct ChoreService: Service {
    let chore: any Chore
    let leadership: Leadership
    let logger: Logger

    public init(_ chore: any Chore, leadership: Leadership, logger: Logger) {
        self.chore = chore
        self.leadership = leadership
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var term = 0
            while !Task.isCancelled {
                if leadership.isLeading {
                    term = leadership.term
                    do {
                        try await chore.tick()
                    } catch {
                        if Task.isCancelled { return }
                        logger.warning("\(chore.name) failed; trying again next tick", metadata: ["error": "\(String(reflecting: error).prefix(300))"])
                    }
                }
                // Until the next tick; a coordinator that has just taken over ticks at once
                // (a standby's first act is to rescue, renew and fire what is due).
                let next = ContinuousClock.now + chore.interval
                while !Task.isCancelled && ContinuousClock.now < next && !(leadership.isLeading && leadership.term != term) {
                    let slice = min(next - ContinuousClock.now, .milliseconds(200))
                    if let wakeups = chore.wakeups {
                        if await wakeups.wait(upTo: slice) { break }
                    } else {
                        try? await Task.sleep(for: slice)
                    }
                }
            }
        }
    }
}
