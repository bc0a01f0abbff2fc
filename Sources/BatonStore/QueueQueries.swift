import BatonModel
import Foundation
import PostgresNIO

extension Store {
    /// Jobs by status (and, for waiting ones, reason), for /metrics.
    public func queueDepth() async throws -> [(projectId: String, status: String, reason: String?, count: Int)] {
        let rows = try await client.query("""
            SELECT project_id, status::text, waiting_reason, count(*)::bigint FROM jobs
            WHERE status IN ('created', 'waiting', 'processing', 'terminating')
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """, logger: logger)
        var out: [(projectId: String, status: String, reason: String?, count: Int)] = []
        for try await (project, status, reason, count) in rows.decode((String, String, String?, Int64).self) {
            out.append((project, status, reason, Int(count)))
        }
        return out
    }
}
