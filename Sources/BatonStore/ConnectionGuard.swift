import BatonModel
import Foundation
import PostgresNIO

extension PostgresConnection {
    /// Runs `operation` on this connection, but gives up as soon as the connection closes.
    ///
    /// Seen with postgres-nio 1.33.2: a query in flight when the server terminated the backend
    /// (pg_terminate_backend, a restart) never completed, and its caller (a worker's claim loop,
    /// the coordinator) hung for good. Racing the work against `closeFuture` turns that into an
    /// error the loops recover from by leasing a new connection. The abandoned await stays
    /// suspended; it is one small task per lost connection.
    func guarded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let once = ResumeOnce(continuation)
            closeFuture.whenComplete { _ in once.resume(.failure(BatonError(.unavailable, "the database connection closed"))) }
            Task {
                do { once.resume(.success(try await operation())) } catch { once.resume(.failure(error)) }
            }
        }
    }
}

/// Resumes a continuation with whichever result comes first.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?

    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = continuation }

    func resume(_ result: Result<T, any Error>) {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume(with: result)
    }
}
