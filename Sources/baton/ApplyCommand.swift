import ArgumentParser
import BatonEngine
import BatonModel
import BatonStore
import Foundation

struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or update projects, components and configurations from a JSON or YAML file, all or nothing.",
        discussion: """
            Through the API (--api-url) the file may hold components, configurations and orchestrations of the token's \
            project (an admin token); it is checked whole first, then each document is one PUT.
            """)

    @OptionGroup var client: ClientOptions

    @Option(name: .shortAndLong, help: "The file: one document, a list, or YAML documents separated by ---.")
    var file: String

    @Flag(help: "Check the file and print what would be created, updated or left unchanged; write nothing.")
    var dryRun = false

    func run() async throws {
        let (path, dryRun) = (file, self.dryRun)
        let outcome = try await client.run("baton.apply", direct: { store -> Either in
            let documents = try Documents.load(path: path)
            if dryRun { return .plan(try await BatonEngine.Apply.dryRun(documents, store: store)) }
            return .applied(try await BatonEngine.Apply.apply(documents, store: store))
        }, remote: { api -> Either in
            try await RemoteApply(api: api).run(try Documents.load(path: path), dryRun: dryRun)
        })
        switch outcome {
        case .plan(let plan):
            for line in plan.lines { print(line) }
        case .applied(let summary):
            for warning in summary.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
            print("applied \(summary.projects) project(s), \(summary.components) component(s), \(summary.configurations) configuration(s), \(summary.orchestrations) orchestration(s), \(summary.schedules) schedule(s), \(summary.notifications) notification(s)")
        }
    }

    enum Either: Sendable {
        case plan(ApplyPlan)
        case applied(BatonEngine.Apply.Summary)
    }
}

/// `apply` through the API: the token's project only, and the kinds the API stores (components,
/// configurations, orchestrations). The whole file is checked first, as the database path does,
/// against what the API shows; then each document is one PUT, components first.
struct RemoteApply {
    let api: APIClient
    static let kinds = ["component", "configuration", "orchestration"]

    func run(_ loaded: [JSONValue], dryRun: Bool) async throws -> Apply.Either {
        let project = try await api.project()
        var documents: [JSONValue] = []
        var problems: [String] = []
        for (index, document) in loaded.enumerated() {
            guard case .object(var object) = document else { documents.append(document); continue }
            let kind = object["kind"]?.stringValue ?? ""
            let label = "document \(index + 1) (\(kind.isEmpty ? "no kind" : kind) '\(object["id"]?.idValue ?? "?")')"
            if !Self.kinds.contains(kind) {
                problems.append("\(label): kind: the API stores only \(Self.kinds.joined(separator: ", ")); apply \(kind.isEmpty ? "it" : "a \(kind)") with DATABASE_URL")
            }
            if let given = object["project"]?.idValue, given != project {
                problems.append("\(label): project: this token acts for project '\(project)', not '\(given)'")
            }
            object["project"] = .string(project)
            documents.append(.object(object))
        }
        guard problems.isEmpty else {
            throw BatonError(.invalidInput, "nothing was applied: \(problems.count) problem\(problems.count == 1 ? "" : "s") found", field: "kind", details: problems)
        }
        var existing: [ComponentKey: ExecutorSpec] = [:]
        for component in try await api.components() {
            guard let id = component["id"]?.stringValue, let executor = component["executor"],
                  case .success(let spec) = ExecutorSpec.parse(executor) else { continue }
            existing[ComponentKey(projectId: project, componentId: id)] = spec
        }
        var configurations = Set<[String]>()
        for triple in ApplySet.referencedConfigurations(in: documents) where try await stored(component: triple[1], id: triple[2]) != nil {
            configurations.insert(triple)
        }
        let set = try BatonEngine.Apply.validated(documents, existing: existing, existingProjects: [project], existingConfigurations: configurations)
        if dryRun {
            return .plan(try await ApplyPlan.make(set, current: ApplyPlan.Current(
                project: { _ in nil }, component: { _, id in try await api.component(id).map { ["executor": $0["executor"] ?? .null] } },
                configuration: { _, component, id in try await stored(component: component, id: id) },
                schedule: { _, _ in nil }, notification: { _, _ in nil })))
        }
        for case .object(var document) in documents {
            let id = document["id"]?.idValue ?? ""
            document["id"] = .string(id)
            switch document["kind"]?.stringValue {
            case "component": _ = try await api.putComponent(id, .object(document))
            default: break
            }
        }
        for case .object(let document) in documents {
            let id = document["id"]?.idValue ?? ""
            switch document["kind"]?.stringValue {
            case "configuration": _ = try await api.putConfiguration(componentId: document["component"]?.idValue ?? "", id: id, .object(document))
            default: break
            }
        }
        for case .object(let document) in documents where document["kind"]?.stringValue == "orchestration" {
            _ = try await api.putOrchestration(document["id"]?.idValue ?? "", .object(document))
        }
        return .applied(BatonEngine.Apply.summary(set))
    }

    /// `{name, parameters}` of a stored configuration or orchestration (its definition), as the API shows it.
    func stored(component: String, id: String) async throws -> JSONValue? {
        if component == ExecutorSpec.orchestratorComponentId {
            guard case .object(var object)? = try await api.orchestration(id) else { return nil }
            let name = object.removeValue(forKey: "name") ?? .null
            object.removeValue(forKey: "id")
            return ["name": name, "parameters": .object(object)]
        }
        return try await api.configuration(componentId: component, id: id).map { ["name": $0["name"] ?? .null, "parameters": $0["parameters"] ?? .null] }
    }
}
