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
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Only this project.") var project: String?
        @Option(help: "Only the notifications of this run.") var job: Int64?
        @Option(help: "At most this many.") var limit = 50
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
            let logger = db.logger("baton.cli", default: .warning)
            try await reportingErrors {
                let rows = try await Store.withStore(url: try db.url(), logger: logger) { store in
                    try await store.notifications(projectId: project, jobId: job, limit: limit)
                }
                if json { print(JSONValue.array(rows.map(\.json)).jsonText); return }
                guard !rows.isEmpty else { print("no notifications"); return }
                var lines = [["ID", "JOB", "EVENT", "CHANNEL", "TARGET", "STATE", "ATTEMPTS", "CREATED (UTC)", "LAST ERROR"]]
                for row in rows {
                    lines.append([String(row.id), String(row.jobId), row.event, row.channel, row.target, row.state, String(row.attempts),
                                  Job.formatTime(row.createdTime), String((row.lastError ?? "").prefix(60))])
                }
                let widths = lines[0].indices.map { i in lines.map { $0[i].count }.max()! }
                for line in lines {
                    print(line.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
                }
            }
        }
    }
}
