import ArgumentParser
import BatonEngine
import BatonModel
import BatonStore
import Foundation

struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schedules", abstract: "Schedules: orchestrations run at the times of a UTC cron expression.",
                                                    subcommands: [List.self, Enable.self, Disable.self, Run.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Schedules with their next fire time (UTC; --local adds this machine's time zone).")
        @OptionGroup var client: ClientOptions
        @Option(help: "Only this project (through the API: the token's project).") var project: String?
        @Flag(help: "Also show the next fire time in the local time zone.") var local = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let project = self.project
            let rows = try await client.run("baton.cli", direct: { store in
                let now = Date()
                return try await store.schedules(projectId: project).map { $0.json(now: now) }
            }, remote: { api in
                try await api.checkProject(project)
                return try await api.schedules()
            })
            if json { print(JSONValue.array(rows).jsonText); return }
            guard !rows.isEmpty else { print("no schedules: apply a 'kind: schedule' document"); return }
            let zone = TimeZone.current
            let localStyle = Date.VerbatimFormatStyle(format: "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits) \(timeZone: .specificName(.short))",
                                                      timeZone: zone, calendar: Calendar(identifier: .gregorian))
            printTable(["PROJECT", "SCHEDULE", "ORCHESTRATION", "CRON (UTC)", "ON OVERLAP", "ENABLED", "NEXT (UTC)"] + (local ? ["NEXT (\(zone.identifier))"] : []), rows.map { row in
                let text = { (key: String) in row[key]?.stringValue ?? "-" }
                let next = row["nextFireTime"]?.stringValue.flatMap(Job.parseTime)
                let nextUTC = next.map { $0.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!)) } ?? "-"
                return [text("project"), text("id"), text("orchestration"), text("cron"), text("onOverlap"), row["enabled"] == true ? "yes" : "no", nextUTC]
                    + (local ? [next.map { localStyle.format($0) } ?? "-"] : [])
            })
        }
    }

    /// What `enable` and `disable` share: set the flag, say so.
    static func setEnabled(_ enabled: Bool, id: String, project: String?, client: ClientOptions) async throws {
        try await client.run("baton.cli", direct: { store in
            try await store.setScheduleEnabled(projectId: project ?? "default", id: id, enabled: enabled)
        }, remote: { api in
            try await api.checkProject(project)
            try await api.setScheduleEnabled(id, enabled)
        })
        print("\(enabled ? "enabled" : "disabled") schedule \(id)")
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a schedule (slots passed while it was disabled are not fired).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Schedule id.") var id: String
        @Option(help: "Project of the schedule (default: default; through the API: the token's project).") var project: String?
        func run() async throws { try await SchedulesCommand.setEnabled(true, id: id, project: project, client: client) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a schedule.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Schedule id.") var id: String
        @Option(help: "Project of the schedule (default: default; through the API: the token's project).") var project: String?
        func run() async throws { try await SchedulesCommand.setEnabled(false, id: id, project: project, client: client) }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a schedule's orchestration now (all its enabled tasks), whatever its cron says (as POST /v1/schedules/{id}/run).")
        @OptionGroup var client: ClientOptions
        @Argument(help: "Schedule id.") var id: String
        @Option(help: "Project of the schedule (default: default; through the API: the token's project).") var project: String?

        func run() async throws {
            let (id, project) = (self.id, self.project)
            let job = try await client.run("baton.cli", direct: { store in
                let projectId = project ?? "default"
                guard let row = try await store.schedules(projectId: projectId).first(where: { $0.id == id }) else {
                    throw BatonError(.notFound, "no schedule '\(id)' in project '\(projectId)': 'baton schedules list' shows them", field: "id")
                }
                return try await Orchestrations.run(store: store, projectId: projectId, id: row.orchestrationId, only: [], exclude: [])
            }, remote: { api in
                try await api.checkProject(project)
                return try await api.runSchedule(id)
            })
            print("created run \(job.id) of orchestration \(job.configId) (schedule \(id)); 'baton jobs watch \(job.id)' follows it")
        }
    }
}

extension APIClient {
    /// `POST /v1/schedules/{id}/enable` or `/disable`.
    func setScheduleEnabled(_ id: String, _ enabled: Bool) async throws {
        _ = try await call(.POST, "/v1/schedules/\(Self.segment(id))/\(enabled ? "enable" : "disable")")
    }

    /// `POST /v1/schedules/{id}/run`: the new run.
    func runSchedule(_ id: String) async throws -> Job {
        try Job(json: try await call(.POST, "/v1/schedules/\(Self.segment(id))/run"))
    }
}
