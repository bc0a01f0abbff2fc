import BatonEngine
import BatonModel
import BatonStore
import Hummingbird

// /v1/components: what can run, each with its executor. Secrets (`#` keys) are stored sealed and
// shown sealed; a read token sees header and environment values and database URLs masked too.

extension API {
    func listComponents(_ call: Call) async throws -> Response {
        json(.ok, .array(try await store.components(projectId: call.token.projectId).map { componentJSON(id: $0.id, executor: $0.executor, for: call.token) }))
    }

    func getComponent(_ call: Call) async throws -> Response {
        let id = try call.path("component")
        guard let component = try await store.components(projectId: call.token.projectId).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no component '\(id)'", field: "component")
        }
        return json(.ok, componentJSON(id: component.id, executor: component.executor, for: call.token))
    }

    func putComponent(_ call: Call) async throws -> Response {
        var document = try call.bodyObject()
        document["kind"] = "component"
        document["id"] = .string(try call.path("component"))
        document["project"] = .string(call.token.projectId)
        _ = try await Apply.apply([.object(document)], store: store)
        guard let stored = try await store.components(projectId: call.token.projectId).first(where: { $0.id == document["id"]?.stringValue }) else {
            throw BatonError(.internal, "the component was not stored")
        }
        return json(.ok, componentJSON(id: stored.id, executor: stored.executor, for: call.token))
    }

    func deleteComponent(_ call: Call) async throws -> Response {
        let id = try call.path("component")
        guard try await store.deleteComponent(projectId: call.token.projectId, componentId: id) else {
            throw BatonError(.notFound, "no component '\(id)'", field: "component")
        }
        return json(.ok, ["id": .string(id), "deleted": true])
    }

    func componentJSON(id: String, executor: JSONValue, for token: Token) -> JSONValue {
        let shown = token.scope == .admin ? Secrets.masked(executor) : ExecutorSpec.masked(Secrets.masked(executor))
        return ["id": .string(id), "executor": shown]
    }
}
