import BatonModel
import BatonStore
import Foundation
import Hummingbird

// /v1/schedules: the project's schedules with their next fire time (UTC).

extension API {
    func listSchedules(_ call: Call) async throws -> Response {
        let now = Date()
        return json(.ok, .array(try await store.schedules(projectId: call.token.projectId).map { $0.json(now: now) }))
    }
}
