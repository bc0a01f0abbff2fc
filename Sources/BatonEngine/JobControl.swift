import BatonModel
import Foundation
import Synchronization

/// Stops one running job: on a kill request or when its timeout passes, the executor's task is
/// cancelled (a process gets SIGTERM, then SIGKILL after a grace period; a sleep or an HTTP
/// call ends at once) and the outcome says why.
final class JobControl: Sendable {
    enum Reason: Sendable { case kill, timeout, shutdown }

    private let requests: AsyncStream<Reason>
    private let continuation: AsyncStream<Reason>.Continuation

    init() {
        (requests, continuation) = AsyncStream.makeStream(of: Reason.self, bufferingPolicy: .bufferingNewest(1))
    }

    func stop(_ reason: Reason) { continuation.yield(reason) }

    /// Runs `work`; stops it on `stop(_:)` or after `timeoutSeconds`.
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
            var result: ExecutionResult?
            var stopped: Reason?
            while let next = await group.next() {
                switch next {
                case .done(let outcome)?:
                    result = outcome
                    group.cancelAll()
                    continuation.finish()
                case .stopped(let reason)? where stopped == nil && result == nil:
                    stopped = reason
                    switch reason {
                    case .kill: events.emit(.system, "kill requested: stopping")
                    case .timeout: events.emit(.system, "timeout after \(timeoutSeconds ?? 0) s: stopping")
                    case .shutdown: events.emit(.system, "worker shutting down and the drain time is over: stopping")
                    }
                    group.cancelAll() // cancels the work; its result arrives once it has stopped
                    continuation.finish()
                default:
                    break
                }
                if result != nil { break }
            }
            switch stopped {
            case .kill?:
                return ExecutionResult(status: .terminated, result: ["message": "terminated on request"])
            case .timeout?:
                return ExecutionResult(status: .error, result: ["message": .string("timed out after \(timeoutSeconds ?? 0) s"), "reason": "timeout"])
            case .shutdown?:
                return ExecutionResult(status: .error, result: ["message": "stopped: the worker shut down", "reason": "worker-shutdown"])
            case nil:
                return result ?? .error("the job's work ended without a result")
            }
        }
    }
}
