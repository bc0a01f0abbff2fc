import ArgumentParser
import BatonEngine
import BatonModel
import BatonStore
import Foundation

// `list` for what `apply` stores: orchestrations, components and configurations, from the
// database or through the API (GET /v1/orchestrations, /v1/components, .../configurations),
// printed from the same JSON the API answers.

/// The project a listing reads: `--project` (default "default") from the database; through the
/// API the token's project, and `--project` must name it if given.
struct ProjectOption: ParsableArguments {
    @Option(help: "Project id (default: default; through the API: the token's project).") var project: String?
    var id: String { project ?? "default" }
}

struct OrchestrationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "orchestrations", abstract: "Orchestrations: phases of tasks.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a project's orchestrations with their phases and tasks.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var project: ProjectOption
        @Flag(help: "Print a JSON array (the API's Orchestration objects).") var json = false

        func run() async throws {
            let project = self.project
            let rows = try await client.run("baton.cli", direct: { store in
                try await store.orchestrations(projectId: project.id).map { item -> JSONValue in
                    guard let definition = try? OrchestrationDefinition.snapshot(item.definition), case .object(var object) = definition.json else {
                        return ["id": .string(item.id), "name": .string(item.name)]
                    }
                    object["id"] = .string(item.id)
                    object["name"] = .string(item.name)
                    return Secrets.masked(.object(object))
                }
            }, remote: { api in
                try await api.checkProject(project.project)
                return try await api.orchestrations()
            })
            if json { printJSON(.array(rows)); return }
            guard !rows.isEmpty else { print("no orchestrations: apply a 'kind: orchestration' document"); return }
            printTable(["ID", "NAME", "PHASES", "TASKS"], rows.map { row in
                let phases = (row["phases"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
                return [row["id"]?.stringValue ?? "", row["name"]?.stringValue ?? "", phases.joined(separator: " > "), String(row["tasks"]?.arrayValue?.count ?? 0)]
            })
        }
    }
}

struct ComponentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "components", abstract: "Components: what can run (an executor).", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a project's components with their executor type.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var project: ProjectOption
        @Flag(help: "Print a JSON array (the API's Component objects; secrets only sealed).") var json = false

        func run() async throws {
            let project = self.project
            let rows = try await client.run("baton.cli", direct: { store in
                try await store.components(projectId: project.id).map { ["id": .string($0.id), "executor": Secrets.masked($0.executor)] as JSONValue }
            }, remote: { api in
                try await api.checkProject(project.project)
                return try await api.components()
            })
            if json { printJSON(.array(rows)); return }
            guard !rows.isEmpty else { print("no components: apply a 'kind: component' document"); return }
            printTable(["ID", "EXECUTOR", "RUNS"], rows.map { row in
                let executor = row["executor"]
                let runs = executor?["command"]?.arrayValue.map { $0.compactMap(\.stringValue).joined(separator: " ") }
                    ?? executor?["url"]?.stringValue ?? executor?["target"]?.stringValue ?? ""
                return [row["id"]?.stringValue ?? "", executor?["type"]?.stringValue ?? "?", String(runs.prefix(60))]
            })
        }
    }
}

struct ConfigurationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "configurations", abstract: "Configurations: saved parameters of a component.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the configurations of a component, or of every component.")
        @OptionGroup var client: ClientOptions
        @OptionGroup var project: ProjectOption
        @Option(help: "Only this component's configurations (default: every component's).") var component: String?
        @Flag(help: "Print a JSON array (the API's Configuration objects; secrets only sealed).") var json = false

        func run() async throws {
            let (project, component) = (self.project, self.component)
            let rows = try await client.run("baton.cli", direct: { store in
                var components = component.map { [$0] } ?? []
                if component == nil { components = try await store.components(projectId: project.id).map(\.id) }
                var rows: [JSONValue] = []
                for id in components {
                    rows += try await store.configurations(projectId: project.id, componentId: id).map {
                        ["id": .string($0.id), "componentId": .string(id), "name": .string($0.name), "parameters": Secrets.masked($0.parameters)] as JSONValue
                    }
                }
                return rows
            }, remote: { api in
                try await api.checkProject(project.project)
                var components = component.map { [$0] } ?? []
                if component == nil { components = try await api.components().compactMap { $0["id"]?.stringValue } }
                var rows: [JSONValue] = []
                for id in components { rows += try await api.configurations(componentId: id) }
                return rows
            })
            if json { printJSON(.array(rows)); return }
            guard !rows.isEmpty else { print("no configurations: apply a 'kind: configuration' document"); return }
            printTable(["COMPONENT", "ID", "NAME", "PARAMETERS"], rows.map { row in
                [row["componentId"]?.stringValue ?? "", row["id"]?.stringValue ?? "", row["name"]?.stringValue ?? "",
                 String((row["parameters"]?.jsonText ?? "").prefix(60))]
            })
        }
    }
}
