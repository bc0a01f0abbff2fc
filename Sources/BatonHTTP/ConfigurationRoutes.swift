import BatonEngine
import BatonModel
import BatonStore
import Hummingbird

// /v1/components/{component}/configurations: saved parameters of a component. An orchestration
// is a configuration of the orchestrator component, but is written through /v1/orchestrations.

extension API {
    func listConfigurations(_ call: Call) async throws -> Response {
        let component = try call.path("component")
        return json(.ok, .array(try await store.configurations(projectId: call.token.projectId, componentId: component).map {
            configurationJSON(id: $0.id, componentId: component, name: $0.name, parameters: $0.parameters)
        }))
    }

    func getConfiguration(_ call: Call) async throws -> Response {
        let component = try call.path("component"), id = try call.path("id")
        guard let configuration = try await store.configurations(projectId: call.token.projectId, componentId: component).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no configuration '\(id)' of component '\(component)'", field: "id")
        }
        return json(.ok, configurationJSON(id: id, componentId: component, name: configuration.name, parameters: configuration.parameters))
    }

    func putConfiguration(_ call: Call) async throws -> Response {
        guard try call.path("component") != ExecutorSpec.orchestratorComponentId else {
            throw BatonError(.invalidInput, "'\(try call.path("id"))' would be an orchestration: PUT /v1/orchestrations/\(try call.path("id"))", field: "component")
        }
        var document = try call.bodyObject()
        document["kind"] = "configuration"
        document["component"] = .string(try call.path("component"))
        document["id"] = .string(try call.path("id"))
        document["project"] = .string(call.token.projectId)
        _ = try await Apply.apply([.object(document)], store: store)
        // The stored form: secrets sealed, never echoed back.
        let component = try call.path("component"), id = try call.path("id")
        guard let stored = try await store.configurations(projectId: call.token.projectId, componentId: component).first(where: { $0.id == id }) else {
            throw BatonError(.internal, "the configuration was not stored")
        }
        return json(.ok, configurationJSON(id: id, componentId: component, name: stored.name, parameters: stored.parameters))
    }

    func deleteConfiguration(_ call: Call) async throws -> Response {
        let component = try call.path("component"), id = try call.path("id")
        guard component != ExecutorSpec.orchestratorComponentId else {
            throw BatonError(.invalidInput, "'\(id)' is an orchestration: DELETE /v1/orchestrations/\(id)", field: "component")
        }
        guard try await store.deleteConfiguration(projectId: call.token.projectId, componentId: component, configId: id) else {
            throw BatonError(.notFound, "no configuration '\(id)' of component '\(component)'", field: "id")
        }
        return json(.ok, ["id": .string(id), "componentId": .string(component), "deleted": true])
    }

    func configurationJSON(id: String, componentId: String, name: String, parameters: JSONValue) -> JSONValue {
        ["id": .string(id), "componentId": .string(componentId), "name": .string(name), "parameters": Secrets.masked(parameters)]
    }
}
