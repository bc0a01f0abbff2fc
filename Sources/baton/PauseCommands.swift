import ArgumentParser
import BatonModel
import BatonStore
import Foundation

/// The scope `pause` and `resume` act on: a project, a component of it, or one configuration.
struct ScopeOptions: ParsableArguments {
    @Option(help: "The project to pause or resume (every component and configuration in it unless --component is given).") var project: String = "default"
    @Option(help: "Only this component of the project (every configuration of it unless --config is given).") var component: String?
    @Option(help: "Only this configuration of --component.") var config: String?

    func scope() throws -> PauseScope {
        do { return try PauseScope(projectId: project, componentId: component, configId: config) } catch let error as BatonError {
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
        let scope = try target.scope()
        let by = "cli"
        let (created, jobs) = try await client.run("baton.pause", direct: { store in try await store.pause(scope, by: by) },
                                                   remote: { api in try await api.pause(scope) })
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
        let scope = try target.scope()
        let (existed, jobs) = try await client.run("baton.pause", direct: { store in try await store.resume(scope) },
                                                   remote: { api in try await api.resume(scope) })
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
                                              remote: { api in try await api.pauses() })
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
    // The pause operations come with the API's pause endpoints; until then these say so.
    func pause(_ scope: PauseScope) async throws -> (created: Bool, jobs: Int) { throw Self.notOffered("pause") }
    func resume(_ scope: PauseScope) async throws -> (existed: Bool, jobs: Int) { throw Self.notOffered("resume") }
    func pauses() async throws -> [Pause] { throw Self.notOffered("list pauses") }
}

/// Columns padded to their widest cell, two spaces apart.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
    for row in [header] + rows {
        print(row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}
