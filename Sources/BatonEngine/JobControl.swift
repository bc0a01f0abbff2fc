import BatonModel
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A job attempt as a worker knows it: a job claimed again after a rescue is another attempt,
/// and reports and heartbeats carry the attempt they are about.
public struct JobKey: Sendable, Hashable, CustomStringConvertible {
    public var id: Int64
    public var attempt: Int

    public init(id: Int64, attempt: Int) {
        self.id = id
        self.attempt = attempt
    }

    public var description: String { "\(id)#\(attempt)" }
}

/// Milliseconds of CLOCK_MONOTONIC: one clock for the worker and its baton-shim processes, so a
/// fence deadline means the same instant to both, even if the worker is stopped in between.
enum Monotonic {
    static func nowMs() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }
}

/// Stops one running job: on a kill request, when its timeout passes, when the worker shuts down,
/// or when the worker can no longer vouch for its claim (the fence).
///
/// The fence: a job may run only while its worker holds its lease. Each renewal the database
/// confirms moves the job's fence deadline to (when the renewal was sent) + `fenceFraction` of
/// the lease; a job whose deadline passes is stopped at once (SIGKILL for a process) and its
/// outcome is not recorded, since by then the lease may be gone: the coordinator rescues the job
/// after the lease, when its work has stopped. A process job's baton-shim holds the same deadline
/// and enforces it even while the worker itself is stopped, frozen or dead.
final class JobControl: Sendable {
    enum Reason: Sendable { case kill, timeout, shutdown, fenced }

    /// The part of the lease after which a job whose lease was not renewed stops itself.
    static let fenceFraction = 2.0 / 3.0

    let key: JobKey
    private struct State {
        var fence: Int64
        var link: ShimLink?
        var stopped: Reason?
    }
    private let state: Mutex<State>
    private let requests: AsyncStream<Reason>
    private let continuation: AsyncStream<Reason>.Continuation

    init(key: JobKey, fenceDeadline: Int64) {
        self.key = key
        state = Mutex(State(fence: fenceDeadline))
        (requests, continuation) = AsyncStream.makeStream(of: Reason.self, bufferingPolicy: .bufferingNewest(1))
    }

    var fenceDeadline: Int64 { state.withLock { $0.fence } }

    /// Stopped by the fence: its lease must not be renewed again, and nothing is recorded for it.
    var isFenced: Bool { state.withLock { $0.stopped == .fenced } }

    /// The worker renewed the lease: the job may run until `deadline` (CLOCK_MONOTONIC ms).
    func renew(until deadline: Int64) {
        let link = state.withLock { state -> ShimLink? in
            guard state.stopped != .fenced, deadline > state.fence else { return nil }
            state.fence = deadline
            return state.link
        }
        link?.send("fence \(deadline)")
    }

    /// Asks the job to stop (a kill request, the drain time over, the claim lost).
    func stop(_ reason: Reason) {
        tell(reason)
        continuation.yield(reason)
    }

    /// Records why the job stops and tells its shim, if any.
    private func tell(_ reason: Reason) {
        let link = state.withLock { state -> ShimLink? in
            if state.stopped == nil || reason == .fenced { state.stopped = reason }
            return state.link
        }
        link?.send(Self.command(for: reason))
    }

    /// A process executor's baton-shim: it gets the fence and stop commands from now on. Returns
    /// the command to send first when the job was already told to stop.
    func attach(_ link: ShimLink) -> String? {
        state.withLock { state in
            state.link = link
            return state.stopped.map(Self.command(for:))
        }
    }

    private static func command(for reason: Reason) -> String {
        reason == .fenced ? "kill" : "stop \(Int(ProcessExecutor.killGraceSeconds * 1000))"
    }

    /// Runs `work`; stops it on `stop(_:)`, after `timeoutSeconds`, or at the fence deadline.
    /// A fenced job's result has `fenced` set: the worker records nothing for it.
    func run(timeoutSeconds: Double?, events: any EventSink, _ work: @escaping @Sendable () async -> ExecutionResult) async -> ExecutionResult {
        enum Finish: Sendable { case done(ExecutionResult), stopped(Reason) }
        let requests = self.requests
        return await withTaskGroup(of: Finish?.self) { group in
            group.addTask { .done(await work()) }
            group.addTask {
                for await reason in requests { return .stopped(reason) }
                return nil
            }
            if let timeoutSeconds {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int(timeoutSeconds * 1000)))
                    return Task.isCancelled ? nil : .stopped(.timeout)
                }
            }
            group.addTask { [self] in
                // The fence: renewals move the deadline; look again until it passes.
                while !Task.isCancelled {
                    let left = fenceDeadline - Monotonic.nowMs()
                    if left <= 0 { return .stopped(.fenced) }
                    try? await Task.sleep(for: .milliseconds(min(left, 1000)))
                }
                return nil
            }
            var result: ExecutionResult?
            var stopped: Reason?
            while let next = await group.next() {
                switch next {
                case .done(let outcome)?:
                    result = outcome
                    group.cancelAll()
                    continuation.finish()
                case .stopped(let reason)? where result == nil && (stopped == nil || (reason == .fenced && stopped != .fenced)):
                    if stopped == nil {
                        switch reason {
                        case .kill: events.emit(.system, "kill requested: stopping")
                        case .timeout: events.emit(.system, "timeout after \(timeoutSeconds ?? 0) s: stopping")
                        case .shutdown: events.emit(.system, "worker shutting down and the drain time is over: stopping")
                        case .fenced: break
                        }
                    }
                    if reason == .fenced {
                        events.emit(.system, "the worker could not renew the job's lease in time: stopping it at once; the coordinator ends it after the lease")
                    }
                    stopped = reason
                    if reason == .timeout || reason == .fenced { tell(reason) } // found here: tell a process job's shim
                    // In-process work ends on cancellation; a process job ends when its shim has stopped it.
                    group.cancelAll() // its result arrives once it has stopped
                default:
                    break
                }
                if result != nil { break }
            }
            if stopped == .fenced || result?.fenced == true {
                return .fencedResult
            }
            switch stopped {
            case .kill?:
                return ExecutionResult(status: .terminated, result: ["message": "terminated on request"])
            case .timeout?:
                return ExecutionResult(status: .error, result: ["message": .string("timed out after \(timeoutSeconds ?? 0) s"), "reason": "timeout"])
            case .shutdown?:
                return ExecutionResult(status: .error, result: ["message": "stopped: the worker shut down", "reason": "worker-shutdown"])
            case .fenced?, nil:
                return result ?? .error("the job's work ended without a result")
            }
        }
    }
}

/// The command pipe to one baton-shim.
final class ShimLink: Sendable {
    private let handle: Mutex<FileHandle?>

    init(_ handle: FileHandle) {
        self.handle = Mutex(handle)
    }

    /// Writes one command line; a shim that has gone (the job ended) is not an error.
    func send(_ command: String) {
        handle.withLock { handle in
            guard let fd = handle?.fileDescriptor else { return }
            let bytes = Array((command + "\n").utf8)
            _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        }
    }

    func close() {
        handle.withLock { handle in
            try? handle?.close()
            handle = nil
        }
    }
}
