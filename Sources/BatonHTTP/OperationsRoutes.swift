import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Hummingbird

// /v1/pauses, /v1/queue and the schedule switches: operating the queue of the token's project.

extension API {
    /// `GET /v1/pauses`: the pauses in force in the token's project, with the jobs each holds.
    func listPauses(_ call: Call) async throws -> Response {
        json(.ok, .array(try await store.pauses(projectId: call.token.projectId).map(\.json)))
    }

    /// `PUT /v1/pauses`: pauses the project (an empty body), a component or a configuration of
    /// it; its queued jobs wait with reason `paused` until the resume. Pausing again changes nothing.
    func putPause(_ call: Call) async throws -> Response {
        let body = try call.bodyObject()
        let scope = try PauseScope(projectId: call.token.projectId, componentId: try Self.text(body, "component"), configId: try Self.text(body, "config"))
        let (created, jobs) = try await store.pause(scope, by: "token \(call.token.id)")
        guard let pause = try await store.pauses(projectId: scope.projectId).first(where: { $0.scope == scope }) else {
            throw BatonError(.conflict, "\(scope) was resumed at the same time: pause it again")
        }
        var answer = pause.json
        if case .object(var object) = answer {
            object["created"] = .bool(created)
            object["jobsHeld"] = .number(Double(jobs))
            answer = .object(object)
        }
        return json(created ? .created : .ok, answer)
    }

    /// `DELETE /v1/pauses?component=C&config=K`: lifts exactly that pause (none: the project's);
    /// its jobs that no other pause holds are queued again.
    func deletePause(_ call: Call) async throws -> Response {
        let scope = try PauseScope(projectId: call.token.projectId, componentId: call.query("component"), configId: call.query("config"))
        let (existed, jobs) = try await store.resume(scope)
        guard existed else { throw BatonError(.notFound, "\(scope) is not paused ('GET /v1/pauses' lists the pauses)", field: "component") }
        return json(.ok, ["resumed": .string(scope.description), "jobsReleased": .number(Double(jobs))])
    }

    /// `GET /v1/queue`: the token's project's queue (unfinished jobs by component, configuration,
    /// status and waiting reason, what holds them), its limit in use, its pauses; the workers and
    /// the coordinator leadership (shared by every project; a worker lists only this project's jobs).
    func queue(_ call: Call) async throws -> Response {
        let projectId = call.token.projectId
        let (limit, inUse) = try await store.projectLimit(projectId: projectId)
        let running = try await store.runningJobs(projectId: projectId)
        let workers = try await store.workers().map { worker -> JSONValue in
            guard case .object(var object) = worker.json else { return worker.json }
            object["projectJobs"] = .array((running[worker.id] ?? []).map { .string(String($0)) })
            return .object(object)
        }
        return json(.ok, [
            "project": .string(projectId),
            "limit": ["maxParallelJobs": .number(Double(limit)), "inUse": .number(Double(inUse))],
            "groups": .array(try await store.queueGroups(projectId: projectId).map(\.json)),
            "pauses": .array(try await store.pauses(projectId: projectId).map(\.json)),
            "workers": .array(workers),
            "coordinators": .array(try await store.leaders().map(\.json)),
        ])
    }

    /// `POST /v1/schedules/{id}/enable` and `/disable`.
    func switchSchedule(_ call: Call, enabled: Bool) async throws -> Response {
        let id = try call.path("id")
        try await store.setScheduleEnabled(projectId: call.token.projectId, id: id, enabled: enabled)
        guard let row = try await store.schedules(projectId: call.token.projectId).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no schedule '\(id)'", field: "id")
        }
        return json(.ok, row.json(now: Date()))
    }

    /// `POST /v1/schedules/{id}/run`: runs the schedule's orchestration now (all its enabled tasks).
    func runSchedule(_ call: Call) async throws -> Response {
        let id = try call.path("id")
        guard let row = try await store.schedules(projectId: call.token.projectId).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no schedule '\(id)' in project '\(call.token.projectId)'", field: "id")
        }
        let job = try await Orchestrations.run(store: store, projectId: call.token.projectId, id: row.orchestrationId, only: [], exclude: [],
                                               tokenId: call.token.id, initializedBy: "api")
        return json(.created, try await runView(job).json)
    }

    /// An optional string field of a body.
    static func text(_ body: [String: JSONValue], _ name: String) throws -> String? {
        switch body[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw BatonError(.invalidInput, "\(name) must be a string", field: name)
        }
    }
}

extension Pause {
    var json: JSONValue {
        ["id": .string(String(id)), "project": .string(scope.projectId),
         "component": scope.componentId.map { .string($0) } ?? .null, "config": scope.configId.map { .string($0) } ?? .null,
         "scope": .string(scope.description), "pausedTime": .string(Job.formatTime(pausedTime)), "pausedBy": .string(pausedBy),
         "waitingJobs": .number(Double(waitingJobs))]
    }
}
