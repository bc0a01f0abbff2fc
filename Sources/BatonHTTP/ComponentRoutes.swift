import BatonEngine
import BatonModel
import BatonStore
import Hummingbird

// /v1/components: what can run, each with its executor.

extension API {
    func listComponents(_ call: Call) async throws -> Response {
        json(.ok, .array(try await store.components(projectId: call.token.projectId).map { componentJSON(id: $0.id, executor: $0.executor) }))
    }

    func getComponent(_ call: Call) async throws -> Response {
        let id = try call.path("component")
        guard let component = try await store.components(projectId: call.token.projectId).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no component '\(id)'", field: "component")
        }
        return json(.ok, componentJSON(id: component.id, executor: component.executor))
    }

    func putComponent(_ call: Call) async throws -> Response {
        var document = try call.bodyObject()
        document["kind"] = "component"
        document["id"] = .string(try call.path("component"))
        document["project"] = .string(call.token.projectId)
        _ = try await Apply.apply([.object(document)], store: store)
        return json(.ok, .object(document.filter { $0.key != "kind" }))
    }

    func deleteComponent(_ call: Call) async throws -> Response {
        let id = try call.path("component")
        guard try await store.deleteComponent(projectId: call.token.projectId, componentId: id) else {
            throw BatonError(.notFound, "no component '\(id)'", field: "component")
        }
        return json(.ok, ["id": .string(id), "deleted": true])
    }

    func componentJSON(id: String, executor: JSONValue) -> JSONValue {
        ["id": .string(id), "executor": executor]
    }
}
