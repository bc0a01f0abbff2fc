import ArgumentParser
import BatonModel
import BatonStore
import Foundation

/// The scope `pause` and `resume` act on: a project, a component of it, or one configuration.
struct ScopeOptions: ParsableArguments {
    @Option(help: "The project to pause or resume (every component and configuration in it unless --component is given; default: default; through the API: the token's project).") var project: String?
    @Option(help: "Only this component of the project (every configuration of it unless --config is given).") var component: String?
    @Option(help: "Only this configuration of --component.") var config: String?

    func scope() throws -> PauseScope {
        do { return try PauseScope(projectId: project ?? "default", componentId: component, configId: config) } catch let error as BatonError {
            throw ValidationError("\(error.field.map { "--\($0): " } ?? "")\(error.message)")
        }
    }

    func validate() throws { _ = try scope() }
}

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a project, component or configuration: its queued and new jobs wait with reason 'paused' (running jobs go on) until 'baton resume'.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var target: ScopeOptions

    func run() async throws {
        let asked = try target.scope()
        let by = "cli"
        let project = target.project
        let (created, jobs, scope) = try await client.run("baton.pause", direct: { store in
            let (created, jobs) = try await store.pause(asked, by: by)
            return (created, jobs, asked)
        }, remote: { api in
            let scope = try await api.tokenScope(asked, requested: project)
            let (created, jobs) = try await api.pause(scope)
            return (created, jobs, scope)
        })
        print("\(created ? "paused" : "already paused:") \(scope); \(jobs) queued job\(jobs == 1 ? "" : "s") now wait\(jobs == 1 ? "s" : "") (reason paused). 'baton resume\(Self.flags(scope))' lets them run.")
    }

    static func flags(_ scope: PauseScope) -> String {
        " --project \(scope.projectId)" + (scope.componentId.map { " --component \($0)" } ?? "") + (scope.configId.map { " --config \($0)" } ?? "")
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Lift the pause of exactly this project, component or configuration: its jobs queue again, oldest first, unless another pause still holds them.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var target: ScopeOptions

    func run() async throws {
        let asked = try target.scope()
        let project = target.project
        let (existed, jobs, scope) = try await client.run("baton.pause", direct: { store in
            let (existed, jobs) = try await store.resume(asked)
            return (existed, jobs, asked)
        }, remote: { api in
            let scope = try await api.tokenScope(asked, requested: project)
            let (existed, jobs) = try await api.resume(scope)
            return (existed, jobs, scope)
        })
        guard existed else {
            throw exitReporting(BatonError(.notFound, "\(scope) is not paused: 'baton pauses list' shows the pauses (a resume lifts exactly the scope that was paused)", field: scope.configId != nil ? "config" : scope.componentId != nil ? "component" : "project"))
        }
        print("resumed \(scope); \(jobs) job\(jobs == 1 ? "" : "s") queued again")
    }
}

struct PausesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pauses", abstract: "Pauses in force.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the pauses in force, with who paused, when, and how many jobs each holds.")
        @OptionGroup var client: ClientOptions
        @Option(help: "Only this project's pauses (default: every project's).") var project: String?
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let project = self.project
            let pauses = try await client.run("baton.pause", direct: { store in try await store.pauses(projectId: project) },
                                              remote: { api in
                try await api.checkProject(project)
                return try await api.pauses()
            })
            if json { printJSON(.array(pauses.map(\.json))); return }
            guard !pauses.isEmpty else { print("nothing is paused"); return }
            printTable(["PROJECT", "COMPONENT", "CONFIG", "PAUSED", "BY", "WAITING JOBS"], pauses.map { pause in
                [pause.scope.projectId, pause.scope.componentId ?? "*", pause.scope.configId ?? "*", Job.formatTime(pause.pausedTime),
                 pause.pausedBy, String(pause.waitingJobs)]
            })
        }
    }
}

extension Pause {
    /// `baton pauses list --json`.
    var json: JSONValue {
        ["id": .string(String(id)), "project": .string(scope.projectId),
         "component": scope.componentId.map { .string($0) } ?? .null, "config": scope.configId.map { .string($0) } ?? .null,
         "pausedTime": .string(Job.formatTime(pausedTime)), "pausedBy": .string(pausedBy), "waitingJobs": .number(Double(waitingJobs))]
    }
}

extension APIClient {
    /// The scope in the token's project (a remote command acts in it; another --project is refused).
    func tokenScope(_ scope: PauseScope, requested: String?) async throws -> PauseScope {
        try await checkProject(requested)
        return try PauseScope(projectId: try await project(), componentId: scope.componentId, configId: scope.configId)
    }

    /// `PUT /v1/pauses`.
    func pause(_ scope: PauseScope) async throws -> (created: Bool, jobs: Int) {
        var body: [String: JSONValue] = [:]
        if let component = scope.componentId { body["component"] = .string(component) }
        if let config = scope.configId { body["config"] = .string(config) }
        let answer = try await call(.PUT, "/v1/pauses", body: .object(body))
        return (answer["created"] == true, Int(answer["jobsHeld"]?.numberValue ?? 0))
    }

    /// `DELETE /v1/pauses?component=C&config=K`; not paused: (false, 0).
    func resume(_ scope: PauseScope) async throws -> (existed: Bool, jobs: Int) {
        guard let answer = try await optional({ try await call(.DELETE, "/v1/pauses", query: [("component", scope.componentId), ("config", scope.configId)]) }) else {
            return (false, 0)
        }
        return (true, Int(answer["jobsReleased"]?.numberValue ?? 0))
    }

    /// `GET /v1/pauses`.
    func pauses() async throws -> [Pause] {
        try (try await call(.GET, "/v1/pauses").arrayValue ?? []).map { row in
            guard let id = row["id"]?.stringValue.flatMap({ Int64($0) }), let project = row["project"]?.stringValue,
                  let time = row["pausedTime"]?.stringValue.flatMap(Job.parseTime) else {
                throw BatonError(.unavailable, "the API answered GET /v1/pauses with a pause the CLI cannot read: \(row.jsonText)")
            }
            return Pause(id: id, scope: try PauseScope(projectId: project, componentId: row["component"]?.stringValue, configId: row["config"]?.stringValue),
                         pausedTime: time, pausedBy: row["pausedBy"]?.stringValue ?? "", waitingJobs: Int(row["waitingJobs"]?.numberValue ?? 0))
        }
    }
}

/// Columns padded to their widest cell, two spaces apart.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
    for row in [header] + rows {
        print(row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}
