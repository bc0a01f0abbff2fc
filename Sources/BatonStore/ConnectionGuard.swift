import BatonModel
import Foundation
import PostgresNIO
import Synchronization

extension PostgresConnection {
    /// Runs `operation` on this connection, but gives up as soon as the connection closes.
    ///
    /// Seen with postgres-nio 1.33.2: a query in flight when the server terminated the backend
    /// (pg_terminate_backend, a restart) never completed, and its caller (a worker's claim loop,
    /// the coordinator) hung for good. Racing the work against the connection's close turns that
    /// into an error the loops recover from by leasing a new connection. The abandoned await
    /// stays suspended; it is one small task per lost connection.
    ///
    /// One close callback per connection serves every call (`ConnectionWatch`): a callback per
    /// call piled up on `closeFuture` for as long as the connection lived, one per worker turn.
    func guarded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let watch = ConnectionWatch.of(self)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let once = ResumeOnce(continuation)
            guard let token = watch.add({ once.resume(.failure(BatonError(.unavailable, "the database connection closed"))) }) else {
                once.resume(.failure(BatonError(.unavailable, "the database connection closed")))
                return
            }
            Task {
                let result: Result<T, any Error>
                do { result = .success(try await operation()) } catch { result = .failure(error) }
                watch.remove(token)
                once.resume(result)
            }
        }
    }
}

/// The calls in flight on one connection, failed together when it closes.
final class ConnectionWatch: Sendable {
    private static let all = Mutex<[ObjectIdentifier: ConnectionWatch]>([:])
    private let state = Mutex<(closed: Bool, next: Int, pending: [Int: @Sendable () -> Void])>((false, 0, [:]))

    static func of(_ connection: PostgresConnection) -> ConnectionWatch {
        let key = ObjectIdentifier(connection)
        let (watch, isNew) = all.withLock { all -> (ConnectionWatch, Bool) in
            if let existing = all[key] { return (existing, false) }
            let created = ConnectionWatch()
            all[key] = created
            return (created, true)
        }
        if isNew {
            connection.closeFuture.whenComplete { _ in
                _ = all.withLock { $0.removeValue(forKey: key) }
                watch.close()
            }
        }
        return watch
    }

    /// Registers `onClose`; nil when the connection has already closed.
    func add(_ onClose: @escaping @Sendable () -> Void) -> Int? {
        state.withLock { state in
            if state.closed { return nil }
            state.next += 1
            state.pending[state.next] = onClose
            return state.next
        }
    }

    func remove(_ token: Int) {
        _ = state.withLock { $0.pending.removeValue(forKey: token) }
    }

    private func close() {
        let pending = state.withLock { state -> [@Sendable () -> Void] in
            state.closed = true
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for onClose in pending { onClose() }
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
