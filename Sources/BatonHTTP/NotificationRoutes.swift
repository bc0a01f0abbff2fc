import BatonModel
import BatonStore
import Hummingbird

// /v1/jobs/{id}/notifications: a run's notifications outbox, with their delivery state.

extension API {
    func jobNotifications(_ call: Call) async throws -> Response {
        let job = try await visibleJob(try call.jobId(), call.token)
        return json(.ok, .array(try await store.notifications(projectId: call.token.projectId, jobId: job.id).map(\.json)))
    }
}
