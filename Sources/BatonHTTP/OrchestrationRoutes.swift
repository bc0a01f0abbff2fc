import BatonEngine
import BatonModel
import BatonStore
import Hummingbird

// /v1/orchestrations: the definitions (Keboola's keboola.orchestrator shape with id and name),
// the plan of a run (`PlanView`) and starting a run (answered as its `RunView`).

extension API {
    func listOrchestrations(_ call: Call) async throws -> Response {
        var out: [JSONValue] = []
        for item in try await store.orchestrations(projectId: call.token.projectId) {
            if case .trigger(let id) = call.token.scope, id != item.id { continue }
            let definition = try? OrchestrationDefinition.snapshot(item.definition)
            out.append(definition.map { orchestrationJSON(id: item.id, name: item.name, definition: $0) } ?? ["id": .string(item.id), "name": .string(item.name)])
        }
        return json(.ok, .array(out))
    }

    func getOrchestration(_ call: Call) async throws -> Response {
        let id = try call.path("id")
        guard let item = try await store.orchestrations(projectId: call.token.projectId).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no orchestration '\(id)'", field: "id")
        }
        let definition = try await Orchestrations.definition(store: store, projectId: call.token.projectId, id: id)
        return json(.ok, orchestrationJSON(id: id, name: item.name, definition: definition))
    }

    func putOrchestration(_ call: Call) async throws -> Response {
        let id = try call.path("id")
        var document = try call.bodyObject()
        document["kind"] = "orchestration"
        document["id"] = .string(id)
        document["project"] = .string(call.token.projectId)
        _ = try await Apply.apply([.object(document)], store: store)
        return try await getOrchestration(call)
    }

    func deleteOrchestration(_ call: Call) async throws -> Response {
        let id = try call.path("id")
        guard try await store.deleteConfiguration(projectId: call.token.projectId, componentId: ExecutorSpec.orchestratorComponentId, configId: id) else {
            throw BatonError(.notFound, "no orchestration '\(id)'", field: "id")
        }
        return json(.ok, ["id": .string(id), "deleted": true])
    }

    func plan(_ call: Call) async throws -> Response {
        let id = try call.path("id")
        let (definition, selected) = try await Orchestrations.plan(store: store, projectId: call.token.projectId, id: id,
                                                                    only: call.queryAll("task"), exclude: call.queryAll("excludeTask"))
        return json(.ok, PlanView(orchestrationId: id, definition: definition, selected: selected).json)
    }

    func runOrchestration(_ call: Call) async throws -> Response {
        let run = try await Orchestrations.run(store: store, projectId: call.token.projectId, id: try call.path("id"),
                                               only: try call.taskIds("tasks"), exclude: try call.taskIds("excludeTasks"),
                                               tokenId: call.token.id, initializedBy: "api")
        return json(.created, RunView(run: run, children: []).json)
    }

    /// The stored definition with the orchestration's id and name.
    func orchestrationJSON(id: String, name: String, definition: OrchestrationDefinition) -> JSONValue {
        guard case .object(var object) = definition.json else { return definition.json }
        object["id"] = .string(id)
        object["name"] = .string(name)
        return Secrets.masked(.object(object))
    }
}
