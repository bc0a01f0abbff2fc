import ArgumentParser
import BatonEngine
import BatonModel
import BatonStore
import Foundation

struct NotificationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "notifications", abstract: "The notifications outbox: what was sent, what waits, what failed.",
                                                    subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Notifications, newest first, with their state, attempts and last error.")
        @OptionGroup var client: ClientOptions
        @Option(help: "Only this project.") var project: String?
        @Option(help: "Only the notifications of this run (required through the API).") var job: Int64?
        @Option(help: "At most this many.") var limit = 50
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
            let (project, job, limit) = (self.project, self.job, self.limit)
            let rows = try await client.run("baton.cli", direct: { store in
                try await store.notifications(projectId: project, jobId: job, limit: limit).map(\.json)
            }, remote: { api in
                try await api.checkProject(project)
                guard let job else { throw BatonError(.invalidInput, "through the API notifications are listed per run: give --job ID", field: "job") }
                return Array(try await api.notifications(jobId: job).prefix(limit))
            })
            if json { print(JSONValue.array(rows).jsonText); return }
            guard !rows.isEmpty else { print("no notifications"); return }
            printTable(["ID", "JOB", "EVENT", "CHANNEL", "TARGET", "STATE", "ATTEMPTS", "CREATED (UTC)", "LAST ERROR"], rows.map { row in
                let text = { (key: String) in row[key]?.idValue ?? row[key]?.stringValue ?? "" }
                return [text("id"), text("jobId"), text("event"), text("channel"), text("target"), text("state"), text("attempts"),
                        text("createdTime"), String(text("lastError").prefix(60))]
            })
        }
    }
}
