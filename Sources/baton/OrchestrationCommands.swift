import ArgumentParser
import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import Foundation
import Logging
import ServiceLifecycle

/// Task selection shared by `run` and `plan`.
struct TaskSelection: ParsableArguments {
    @Argument(help: "Orchestration id.") var orchestration: String
    @Option(help: "Project id (default: default; through the API: the token's project).") var project: String?
    @Option(name: .customLong("task"), help: "Run only this task (repeatable).") var only: [String] = []
    @Option(name: .customLong("exclude-task"), help: "Do not run this task (repeatable).") var exclude: [String] = []
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run an orchestration: phases in order, tasks of a phase in parallel.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var selection: TaskSelection
    @Flag(help: "Wait until the run ends; exit 0 on success or warning, 1 otherwise.") var wait = false
    @Flag(help: "Follow the run: print its phases as they change and the last lines of each task that fails; exit as --wait does.") var watch = false
    @Flag(help: "Print the run as JSON.") var json = false

    func validate() throws {
        if watch && json { throw ValidationError("--watch prints the run as it goes; use --wait --json for the final run as JSON") }
    }

    func run() async throws {
        let (selection, wait, watch, json) = (self.selection, self.wait || self.watch, self.watch, self.json)
        let tty = isatty(STDOUT_FILENO) == 1
        let (parent, children) = try await client.run("baton.run", direct: { store -> (Job, [Job]) in
            let parent = try await Orchestrations.run(store: store, projectId: selection.project ?? "default", id: selection.orchestration,
                                                      only: selection.only, exclude: selection.exclude)
            guard wait else { return (parent, []) }
            FileHandle.standardError.write(Data("created run \(parent.id) of orchestration '\(selection.orchestration)'; \(watch ? "following it" : "waiting")\n".utf8))
            if watch {
                let final = try await followRun(parent.id, tty: tty, fetch: { (try await store.job(id: parent.id)!, try await store.children(of: parent.id)) },
                                                events: { try await store.events(jobId: $0, after: $1) })
                return (final, try await store.children(of: parent.id))
            }
            let final = try await waitForJob(store, id: parent.id)
            return (final, try await store.children(of: parent.id))
        }, remote: { api -> (Job, [Job]) in
            try await api.checkProject(selection.project)
            let parent = try await api.runOrchestration(selection.orchestration, only: selection.only, exclude: selection.exclude)
            guard wait else { return (parent, []) }
            FileHandle.standardError.write(Data("created run \(parent.id) of orchestration '\(selection.orchestration)'; \(watch ? "following it" : "waiting")\n".utf8))
            if watch {
                let final = try await followRun(parent.id, tty: tty, fetch: { let job = try await api.job(id: parent.id); return (job, try await api.children(of: job)) },
                                                events: { try await api.events(jobId: $0, after: $1) })
                return (final, try await api.children(of: final))
            }
            let final = try await waitForJob(api, id: parent.id)
            return (final, try await api.children(of: final))
        })
        if json {
            printJSON(RunView(run: parent, children: children).json)
        } else if watch {
            if tty { printRun(RunView(run: parent, children: children)) }
        } else if wait {
            printRun(RunView(run: parent, children: children))
        } else {
            print("created run \(parent.id) of orchestration '\(selection.orchestration)' (\(parent.onlyOrchestrationTaskIds?.count ?? 0) tasks)\(parent.status == .waiting ? "; it waits for the run in progress" : "")")
        }
        if wait && !parent.status.isSuccessful { throw ExitCode(1) }
    }
}

/// Follows a run until it ends: its phases as they change and, once for each task that fails,
/// the last `tail` lines of its log.
func followRun(_ id: Int64, tty: Bool, tail: Int = 20, fetch: () async throws -> (Job, [Job]),
               events: (Int64, Int64) async throws -> [JobEvent]) async throws -> Job {
    var told: Set<Int64> = []
    return try await watchJob(id: id, interval: 0.5, tty: tty, onChange: { _, children in
        for child in children where child.status.isFinal && !child.status.isSuccessful && !told.contains(child.id) {
            told.insert(child.id)
            var last: [JobEvent] = []
            var after: Int64 = 0
            while true {
                let page = try await events(child.id, after)
                last = Array((last + page).suffix(tail))
                guard page.count == 1000, let next = page.last?.id else { break }
                after = next
            }
            let message = child.result?["message"]?.stringValue.map { ": \($0)" } ?? ""
            print("task \(child.orchestrationTaskId ?? "?") (job \(child.id), \(child.componentId)/\(child.configId)) ended \(child.status.rawValue)\(message); its last \(last.count) line\(last.count == 1 ? "" : "s") ('baton jobs events \(child.id)' prints all):")
            for event in last { print("    " + formatEvent(event)) }
            print("")
        }
    }, fetch: fetch)
}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Show which phases and tasks a run would execute, without running anything.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var selection: TaskSelection
    @Flag(help: "Print the plan as JSON.") var json = false

    func run() async throws {
        let selection = self.selection
        let plan = try await client.run("baton.plan", direct: { store in
            let (definition, selected) = try await Orchestrations.plan(store: store, projectId: selection.project ?? "default", id: selection.orchestration,
                                                                       only: selection.only, exclude: selection.exclude)
            return PlanView(orchestrationId: selection.orchestration, definition: definition, selected: selected).json
        }, remote: { api in
            try await api.checkProject(selection.project)
            return try await api.plan(selection.orchestration, only: selection.only, exclude: selection.exclude)
        })
        if json {
            printJSON(plan)
            return
        }
        printPlan(plan)
    }
}

/// The text form of a plan's JSON (`PlanView.json`, the API's Plan).
func printPlan(_ plan: JSONValue) {
    let phases = plan["phases"]?.arrayValue ?? []
    let tasks = phases.flatMap { $0["tasks"]?.arrayValue ?? [] }
    let names = Dictionary(phases.map { ($0["id"]?.stringValue ?? "", $0["name"]?.stringValue ?? "") }, uniquingKeysWith: { a, _ in a })
    print("orchestration '\(plan["orchestrationId"]?.stringValue ?? "?")': \(tasks.filter { $0["selected"] == true }.count) of \(tasks.count) tasks would run")
    for (index, phase) in phases.enumerated() {
        let dependsOn = (phase["dependsOn"]?.arrayValue ?? []).compactMap(\.stringValue).map { names[$0] ?? $0 }
        let after = dependsOn.isEmpty ? "" : " (after \(dependsOn.joined(separator: ", ")))"
        print("\(index + 1). phase \(phase["name"]?.stringValue ?? "") [\(phase["id"]?.stringValue ?? "")]\(after)\(phase["runs"] == true ? "" : ": skipped, no task selected")")
        for task in phase["tasks"]?.arrayValue ?? [] {
            var notes: [String] = []
            if task["enabled"] == false { notes.append("disabled") } else if task["selected"] != true { notes.append("deselected") }
            if task["continueOnFailure"] == true { notes.append("continue on failure") }
            let text = { (key: String) in task[key]?.stringValue ?? "" }
            print("   \(task["selected"] == true ? "[x]" : "[ ]") \(text("name")) [\(text("id"))]  \(text("componentId"))/\(text("configId"))\(notes.isEmpty ? "" : "  (\(notes.joined(separator: ", ")))")")
        }
    }
}

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "coordinator", abstract: "Advance orchestration runs (one is active; others stand by) until SIGTERM or SIGINT.")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var metrics: MetricsOptions
    @OptionGroup var wakeups: WakeupOptions
    @Option(help: "Coordinator id recorded on the runs it advances.") var coordinatorId: String?
    @Option(help: "Seconds between a standby's attempts to take over.") var standbySeconds: Double = 1
    @Option(help: "Leadership lease in seconds: a standby takes over from a coordinator that died this long after its last renewal (a graceful stop hands over at once). Renewed every fifth of it.") var leaderLeaseSeconds: Double = 10
    @Option(help: "SMTP relay for email notifications (default: $BATON_SMTP_HOST; none: emails wait until one is set).") var smtpHost: String?
    @Option(help: "SMTP port (default: $BATON_SMTP_PORT or 25).") var smtpPort: Int?
    @Option(help: "Sender of notification emails (default: $BATON_SMTP_FROM or baton@localhost).") var smtpFrom: String?
    @Option(help: "Base URL of the web console, for links in notifications (default: $BATON_CONSOLE_URL or http://127.0.0.1:8420).") var consoleUrl: String?
    @Option(help: "Seconds before the first retry of a failed notification; doubles each time.") var notificationRetrySeconds: Double = 5
    @Option(help: "Delivery attempts before a notification is given up.") var notificationAttempts: Int = 8
    @Option(help: "Delete finished jobs (with their events and notifications) older than this many days, in small batches (default: keep everything). sql/inspect.sql shows what would go.") var retentionDays: Double?
    @OptionGroup var outbound: OutboundOptions

    func run() async throws {
        var configuration = Coordinator.Configuration()
        let environment = ProcessInfo.processInfo.environment
        configuration.notifications.smtpHost = smtpHost ?? environment["BATON_SMTP_HOST"].flatMap { $0.isEmpty ? nil : $0 }
        if let port = smtpPort ?? environment["BATON_SMTP_PORT"].flatMap(Int.init) {
            guard (1...65535).contains(port) else { throw ValidationError("--smtp-port must be from 1 to 65535") }
            configuration.notifications.smtpPort = port
        }
        if let from = smtpFrom ?? environment["BATON_SMTP_FROM"], !from.isEmpty {
            guard NotificationSpec.isEmailAddress(from) else {
                throw ValidationError("--smtp-from must be one address such as baton@example.com")
            }
            configuration.notifications.smtpFrom = from
        }
        if let url = consoleUrl ?? environment["BATON_CONSOLE_URL"], !url.isEmpty {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw ValidationError("--console-url must start with http:// or https://") }
            configuration.notifications.consoleURL = url
        }
        guard notificationRetrySeconds > 0 else { throw ValidationError("--notification-retry-seconds must be positive") }
        guard (1...100).contains(notificationAttempts) else { throw ValidationError("--notification-attempts must be from 1 to 100") }
        configuration.notifications.retry = NotificationRetry(baseSeconds: notificationRetrySeconds, maxAttempts: notificationAttempts)
        if let retentionDays {
            guard retentionDays > 0, retentionDays <= 36_500 else { throw ValidationError("--retention-days must be above 0 (fractions allowed) and at most 36500") }
            configuration.retention = Retention.Configuration(age: .milliseconds(Int64(retentionDays * 86_400_000)))
        }
        do { configuration.notifications.outbound = try outbound.policy() } catch let error as BatonError { throw ValidationError(error.message) }
        if let coordinatorId { configuration.coordinatorId = coordinatorId }
        guard standbySeconds > 0 else { throw ValidationError("--standby-seconds must be positive") }
        configuration.standbyInterval = .milliseconds(Int(standbySeconds * 1000))
        guard leaderLeaseSeconds >= 2, leaderLeaseSeconds <= 600 else { throw ValidationError("--leader-lease-seconds must be from 2 to 600") }
        configuration.leaderLeaseSeconds = leaderLeaseSeconds
        configuration.wakeups = try wakeups.parsed()
        let logger = db.logger("baton.coordinator", default: .info)
        let url = try db.url()
        Telemetry.bootstrap() // before the service makes its metrics
        Hardening.apply()
        try await reportingErrors {
            let store = try Store(url: url, logger: logger, maxConnections: 4)
            let coordinator = Coordinator(store: store, configuration: configuration, logger: logger)
            try await runUntilSignalled(coordinator, store: store, logger: logger, metrics: metrics.service(store: store, logger: logger),
                                        beside: coordinator.chores)
        }
    }
}

/// The phase view of a run: phases in order, each with its tasks, job ids, statuses and durations.
func renderRun(_ view: RunView, now: Date = Date()) -> [String] {
    let parent = view.run
    var lines = ["run \(parent.id) of orchestration '\(parent.configId)': \(parent.status.rawValue)\(parent.waitingReason.map { " (\($0.rawValue))" } ?? "")  \(elapsed(parent, now: now))"]
    if let message = view.message { lines.append("  \(message)") }
    for (index, phase) in view.phases.enumerated() {
        lines.append("\(index + 1). \(phase.phase.name) [\(phase.phase.id)]: \(phase.status.rawValue)")
        for task in phase.tasks {
            let state = task.job.map { "job \($0.id) \($0.status.rawValue)  \(elapsed($0, now: now))" }
                ?? (!task.task.enabled ? "disabled" : !task.selected ? "deselected" : phase.status == .notExecuted ? "not executed" : "pending")
            let flag = task.task.continueOnFailure ? " (continue on failure)" : ""
            lines.append("   - \(task.task.name) [\(task.task.id)] \(task.task.componentId)/\(task.task.configId)\(flag): \(state)")
        }
    }
    return lines
}

func printRun(_ view: RunView) {
    for line in renderRun(view) { print(line) }
}

func elapsed(_ job: Job, now: Date) -> String {
    if let duration = job.durationSeconds { return String(format: "%.2fs", duration) }
    if let start = job.startTime { return String(format: "%.1fs so far", now.timeIntervalSince(start)) }
    return ""
}
