import ArgumentParser
import BatonEngine
import BatonModel
import BatonStore
import Foundation

struct SchedulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schedules", abstract: "Schedules: orchestrations run at the times of a UTC cron expression.",
                                                    subcommands: [List.self, Enable.self, Disable.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Schedules with their next fire time (UTC; --local adds this machine's time zone).")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "Only this project.") var project: String?
        @Flag(help: "Also show the next fire time in the local time zone.") var local = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let logger = db.logger("baton.cli", default: .warning)
            try await reportingErrors {
                let rows = try await Store.withStore(url: try db.url(), logger: logger) { store in try await store.schedules(projectId: project) }
                let now = Date()
                let utc = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!)
                let zone = TimeZone.current
                let localStyle = Date.VerbatimFormatStyle(format: "\(year: .defaultDigits)-\(month: .twoDigits)-\(day: .twoDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits) \(timeZone: .specificName(.short))",
                                                          timeZone: zone, calendar: Calendar(identifier: .gregorian))
                var out: [JSONValue] = []
                var lines: [[String]] = [["PROJECT", "SCHEDULE", "ORCHESTRATION", "CRON (UTC)", "ON OVERLAP", "ENABLED", "NEXT (UTC)"] + (local ? ["NEXT (\(zone.identifier))"] : [])]
                for row in rows {
                    let next = row.nextFireTime(after: now)
                    let nextUTC = next.map { utc.format($0) } ?? "-"
                    let nextLocal = next.map { localStyle.format($0) } ?? "-"
                    out.append(row.json(now: now))
                    lines.append([row.projectId, row.id, row.orchestrationId, row.cron, row.onOverlap, row.enabled ? "yes" : "no", nextUTC] + (local ? [nextLocal] : []))
                }
                if json { print(JSONValue.array(out).jsonText); return }
                guard !rows.isEmpty else { print("no schedules: apply a 'kind: schedule' document"); return }
                let widths = lines[0].indices.map { i in lines.map { $0[i].count }.max()! }
                for line in lines {
                    print(line.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
                }
            }
        }
    }

    /// What `enable` and `disable` share: set the flag, say so.
    static func setEnabled(_ enabled: Bool, id: String, project: String, db: DatabaseOptions) async throws {
        let logger = db.logger("baton.cli", default: .warning)
        try await reportingErrors {
            try await Store.withStore(url: try db.url(), logger: logger) { store in try await store.setScheduleEnabled(projectId: project, id: id, enabled: enabled) }
            print("\(enabled ? "enabled" : "disabled") schedule \(id)")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a schedule (slots passed while it was disabled are not fired).")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "Schedule id.") var id: String
        @Option(help: "Project of the schedule.") var project = "default"
        func run() async throws { try await SchedulesCommand.setEnabled(true, id: id, project: project, db: db) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a schedule.")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "Schedule id.") var id: String
        @Option(help: "Project of the schedule.") var project = "default"
        func run() async throws { try await SchedulesCommand.setEnabled(false, id: id, project: project, db: db) }
    }
}
