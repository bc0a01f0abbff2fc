import ArgumentParser
import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import Foundation

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and inspect jobs.",
        subcommands: [Create.self, List.self, Show.self, Events.self, Wait.self, Watch.self, Kill.self, RetryPlan.self, Retry.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue a job of a configuration.")

        @OptionGroup var client: ClientOptions
        @Option(help: "Project id (default: default; through the API: the token's project).") var project: String?
        @Option(help: "Component id.") var component: String
        @Option(help: "Configuration id.") var config: String
        @Option(name: [.customLong("config-data"), .customLong("parameters")],
                help: "JSON object whose top-level keys override the configuration's parameters (the API's configData; --parameters is the old name).")
        var configData: String?
        @Option(help: "\(JobMode.list).") var mode: String = "run"
        @Option(help: "Queue this many identical jobs in one statement.") var count: Int = 1
        @Option(help: "Stop the job after this many seconds of processing; it then ends error (timeout).") var timeout: Double?
        @Option(help: "Automatic retries of a failed attempt.") var retries: Int = 0
        @Option(help: "Seconds before an automatic retry starts.") var retryDelay: Double = 10
        @Flag(help: "Wait until the job ends; exit 0 on success or warning, 1 otherwise.") var wait = false
        @Flag(help: "Print the job as JSON.") var json = false

        /// The request, checked the same way the API checks it (`JobRequest.validated`).
        func request() throws -> JobRequest {
            var overrides: JSONValue?
            if let configData {
                guard let value = try? JSONValue.parse(configData) else {
                    throw ValidationError("--config-data must be a JSON object, e.g. '{\"seconds\": 2}'")
                }
                overrides = value
            }
            do {
                return try JobRequest(projectId: project ?? "default", componentId: component, configId: config, configData: overrides, mode: mode,
                                      count: count, timeoutSeconds: timeout, retries: retries, retryDelaySeconds: retryDelay).validated()
            } catch let error as BatonError {
                let flags = ["configData": "--config-data", "timeoutSeconds": "--timeout", "retryDelaySeconds": "--retry-delay"]
                throw ValidationError("\(error.field.map { flags[$0] ?? "--\($0)" }.map { "\($0): " } ?? "")\(error.message)")
            }
        }

        func validate() throws {
            _ = try request()
            if wait && count > 1 { throw ValidationError("--wait works with one job; drop --count or --wait") }
        }

        func run() async throws {
            let request = try request()
            let (component, config, count, wait, json, project) = (self.component, self.config, self.count, self.wait, self.json, self.project)
            @Sendable func report(_ jobs: [Job]) {
                if json { printJSON(count == 1 ? jobs[0].json : .array(jobs.map(\.json))) } else if count == 1 {
                    print("created job \(jobs[0].id) (\(component)/\(config))")
                } else {
                    print("created \(jobs.count) jobs \(jobs.first!.id)..\(jobs.last!.id) (\(component)/\(config))")
                }
            }
            let final = try await client.run("baton.jobs", direct: { store -> Job? in
                let jobs = try await store.createJobs(request)
                if !wait { report(jobs); return nil }
                FileHandle.standardError.write(Data("created job \(jobs[0].id); waiting\n".utf8))
                return try await waitForJob(store, id: jobs[0].id)
            }, remote: { api -> Job? in
                try await api.checkProject(project)
                var jobs: [Job] = []
                for _ in 0..<count { jobs.append(try await api.createJob(request)) }
                if !wait { report(jobs); return nil }
                FileHandle.standardError.write(Data("created job \(jobs[0].id); waiting\n".utf8))
                return try await waitForJob(api, id: jobs[0].id)
            })
            if let final {
                if json { printJSON(final.json) } else { printJobDetail(final) }
                if !final.status.isSuccessful { throw ExitCode(1) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")

        @OptionGroup var client: ClientOptions
        @Option(help: "Project id (default: all; through the API: the token's project).") var project: String?
        @Option(help: "Only jobs in this status (repeatable).") var status: [String] = []
        @Option(help: "Only jobs of this component.") var component: String?
        @Option(help: "Only jobs of this configuration.") var config: String?
        @Option(help: "Only the task jobs of this run (its runId).") var parentRunId: String?
        @Option(help: "At most this many (1-\(API.maxPageSize), as the API).") var limit: Int = 100
        @Option(help: "Skip this many (paging, as the API).") var offset: Int = 0
        @Flag(help: "Print a JSON array of jobs.") var json = false

        func validate() throws {
            for s in status where JobStatus(rawValue: s) == nil {
                throw ValidationError("unknown status '\(s)': use one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard (1...API.maxPageSize).contains(limit) else { throw ValidationError("--limit must be from 1 to \(API.maxPageSize) (page with --offset)") }
            guard offset >= 0 else { throw ValidationError("--offset must be 0 or more") }
        }

        func run() async throws {
            let statuses = status.compactMap(JobStatus.init(rawValue:))
            let (project, component, config, parentRunId, limit, offset) = (self.project, self.component, self.config, self.parentRunId, self.limit, self.offset)
            let filter = JobFilter(projectId: project, statuses: statuses, componentId: component, configId: config, parentRunId: parentRunId, limit: limit, offset: offset)
            let jobs = try await client.run("baton.jobs", direct: { try await $0.jobs(filter) }, remote: { api in
                try await api.checkProject(project)
                return try await api.jobs(statuses: statuses, componentId: component, configId: config, parentRunId: parentRunId, limit: limit, offset: offset)
            })
            if json { printJSON(.array(jobs.map(\.json))); return }
            printJobTable(jobs)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job.")

        @OptionGroup var client: ClientOptions
        @Argument(help: "Job id.") var id: Int64
        @Flag(help: "Print the job as JSON.") var json = false

        func run() async throws {
            let id = self.id
            let (job, children) = try await client.run("baton.jobs", direct: { store -> (Job, [Job]) in
                guard let job = try await store.job(id: id) else { throw BatonError(.notFound, "no job \(id)") }
                return (job, job.isOrchestration ? try await store.children(of: id) : [])
            }, remote: { api in
                let job = try await api.job(id: id)
                return (job, job.isOrchestration ? try await api.children(of: job) : [])
            })
            let view = RunView(run: job, children: children)
            if json { printJSON(view.json); return }
            printJobDetail(job)
            if job.isOrchestration { print(""); printRun(view) }
        }
    }

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a job's events (process output lines and system messages).")

        @OptionGroup var client: ClientOptions
        @Argument(help: "Job id.") var id: Int64
        @Flag(help: "Keep printing new events until the job ends.") var follow = false
        @Flag(help: "Print a JSON array of events.") var json = false

        func run() async throws {
            let (id, follow, json) = (self.id, self.follow, self.json)
            let source = client
            try await source.run("baton.jobs", direct: { store in
                try await printEvents(id: id, follow: follow, json: json,
                                      isFinal: { guard let job = try await store.job(id: id) else { throw BatonError(.notFound, "no job \(id)") }; return job.status.isFinal },
                                      events: { try await store.events(jobId: id, after: $0) })
            }, remote: { api in
                try await printEvents(id: id, follow: follow, json: json, isFinal: { try await api.job(id: id).status.isFinal },
                                      events: { try await api.events(jobId: id, after: $0) })
            })
        }
    }
}

/// Prints a job's events from `after` on, pages of 1000; with `follow`, until the job is final.
func printEvents(id: Int64, follow: Bool, json: Bool, after start: Int64 = 0, isFinal: () async throws -> Bool,
                 events: (Int64) async throws -> [JobEvent]) async throws {
    var after = start
    var all: [JobEvent] = []
    while true {
        let finishedBefore = try await isFinal()
        let page = try await events(after)
        for event in page {
            if json { all.append(event) } else { print(formatEvent(event)) }
        }
        after = page.last?.id ?? after
        if page.count == 1000 { continue }
        if !follow || finishedBefore { break }
        try await Task.sleep(for: .milliseconds(300))
    }
    if json { printJSON(.array(all.map(\.json))) }
}

func formatEvent(_ event: JobEvent) -> String {
    "\(Job.formatTime(event.time)) \(event.stream.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(event.message)"
}

extension Jobs {
    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait until jobs end, print them; exit 0 when all ended success or warning, 1 otherwise.")

        @OptionGroup var client: ClientOptions
        @Argument(help: "Job ids.") var ids: [Int64]
        @Option(help: "Give up after this many seconds (exit 3).") var timeout: Double = 3600
        @Flag(help: "Print a JSON array of the jobs.") var json = false

        func validate() throws {
            guard !ids.isEmpty else { throw ValidationError("give at least one job id") }
        }

        func run() async throws {
            let (ids, timeout) = (self.ids, self.timeout)
            @Sendable func poll(_ fetch: @Sendable () async throws -> [Job]) async throws -> [Job]? {
                let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
                var delay = 100
                while true {
                    let jobs = try await fetch()
                    let missing = Set(ids).subtracting(jobs.map(\.id))
                    if !missing.isEmpty { throw BatonError(.notFound, "no job \(missing.sorted().map(String.init).joined(separator: ", "))") }
                    if jobs.allSatisfy(\.status.isFinal) { return jobs }
                    if ContinuousClock.now > deadline { return nil }
                    try await Task.sleep(for: .milliseconds(delay))
                    delay = min(delay * 2, 1000)
                }
            }
            let jobs = try await client.run("baton.jobs", direct: { store in
                try await poll { try await store.jobs(JobFilter(ids: ids, limit: ids.count)) }
            }, remote: { api in
                try await poll {
                    var jobs: [Job] = []
                    for id in ids { jobs.append(try await api.job(id: id)) }
                    return jobs
                }
            })
            guard let jobs else {
                FileHandle.standardError.write(Data("error: jobs still running after \(timeout) s\n".utf8))
                throw ExitCode(3)
            }
            if json { printJSON(.array(jobs.map(\.json))) } else { printJobTable(jobs) }
            if !jobs.allSatisfy(\.status.isSuccessful) { throw ExitCode(1) }
        }
    }
}

extension Jobs {
    struct RetryPlan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry-plan",
            abstract: "What 'jobs retry' reruns by default: failed tasks and every task of failed and not-executed phases.")

        @OptionGroup var client: ClientOptions
        @Argument(help: "A finished orchestration run's job id.") var id: Int64
        @Flag(help: "Print Keboola's rerun-plan shape as JSON.") var json = false

        func run() async throws {
            let id = self.id
            let (plan, answer) = try await client.run("baton.jobs", direct: { store -> (RetryPlanView, JSONValue) in
                let plan = try await Orchestrations.retryPlan(store: store, jobId: id)
                return (plan, plan.json)
            }, remote: { api in
                // The API's answer is the plan; the run and its tasks' jobs give the text view.
                let answer = try await api.retryPlan(jobId: id)
                let job = try await api.job(id: id)
                return (try RetryPlanView(run: job, children: job.isOrchestration ? try await api.children(of: job) : []), answer)
            })
            let job = plan.run
            if json {
                printJSON(answer)
                return
            }
            guard job.isOrchestration else {
                print("job \(id) is not an orchestration run: 'baton jobs retry \(id)' queues a new job of \(job.componentId)/\(job.configId)")
                return
            }
            print("retry of run \(id) (\(job.status.rawValue)) would rerun \(plan.matchedTaskIds.count) of \(plan.items.count) tasks:")
            for item in plan.items {
                let previous = item.previousJobId.map { "job \($0) \(item.previousStatus?.rawValue ?? "")" } ?? "no job"
                print("  \(item.matched ? "[x]" : "[ ]") \(item.task.name) [\(item.task.id)] phase \(item.task.phase) (\(item.phaseStatus.rawValue)): \(previous)")
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rerun a finished job; for a run, by default its failed tasks and every task of failed and not-executed phases. Without an id: retry the failed runs and jobs matching the filter flags (as POST /v1/jobs/retry).")

        @OptionGroup var client: ClientOptions
        @Argument(help: "A finished job's id (or give filter flags instead).") var id: Int64?
        @OptionGroup(title: "Retry by filter (no id): the failed runs and plain jobs matching, not retried yet, oldest first") var filter: BulkFilterOptions
        @Option(help: "By filter: at most this many retries (1-100, as the API; run again for the rest).") var limit: Int = 100
        @Option(name: .customLong("task"), help: "Rerun only these tasks of the run (repeatable).") var only: [String] = []
        @Flag(help: "Wait until the new job ends; exit 0 on success or warning, 1 otherwise.") var wait = false
        @Flag(help: "Print the new job as JSON.") var json = false

        func validate() throws {
            if id != nil && filter.narrows { throw ValidationError("give a job id or filter flags (\(BulkFilterOptions.flagList)), not both") }
            if id == nil && (wait || json || !only.isEmpty) { throw ValidationError("--wait, --json and --task go with a job id") }
        }

        func run() async throws {
            guard let id = self.id else { return try await retryMatching(client: client, filter: filter, limit: limit) }
            let (only, wait) = (self.only, self.wait)
            let (job, children) = try await client.run("baton.jobs", direct: { store -> (Job, [Job]) in
                let created = try await Orchestrations.retry(store: store, jobId: id, only: only)
                guard wait else { return (created, []) }
                FileHandle.standardError.write(Data("created job \(created.id) retrying \(id); waiting\n".utf8))
                let final = try await waitForJob(store, id: created.id)
                return (final, final.isOrchestration ? try await store.children(of: final.id) : [])
            }, remote: { api in
                let created = try await api.retry(jobId: id, only: only)
                guard wait else { return (created, []) }
                FileHandle.standardError.write(Data("created job \(created.id) retrying \(id); waiting\n".utf8))
                let final = try await waitForJob(api, id: created.id)
                return (final, final.isOrchestration ? try await api.children(of: final) : [])
            })
            if json { printJSON(RunView(run: job, children: children).json) }
            else if wait { job.isOrchestration ? printRun(RunView(run: job, children: children)) : printJobDetail(job) }
            else { print("created job \(job.id) retrying job \(id)\(job.isOrchestration ? " with tasks \((job.onlyOrchestrationTaskIds ?? []).joined(separator: ", "))" : "")") }
            if wait && !job.status.isSuccessful { throw ExitCode(1) }
        }
    }

    struct Kill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Kill a job: not started -> cancelled; running -> terminating until its worker stops it (terminated). A run's task jobs too. Without an id: every unfinished job matching the filter flags (as POST /v1/jobs/kill).")

        @OptionGroup var client: ClientOptions
        @Argument(help: "Job id (or give filter flags instead).") var id: Int64?
        @OptionGroup(title: "Kill by filter (no id): every unfinished matching job, oldest first") var filter: BulkFilterOptions
        @Option(help: "By filter: at most this many jobs (1-10000, as the API; the rest are reported as remaining).") var limit: Int = 1000
        @Flag(help: "By filter: do not ask for confirmation (needed when stdin is not a terminal).") var yes = false

        func validate() throws {
            if id != nil && filter.narrows { throw ValidationError("give a job id or filter flags (\(BulkFilterOptions.flagList)), not both") }
        }

        func run() async throws {
            guard let id = self.id else { return try await killMatching(client: client, filter: filter, limit: limit, yes: yes) }
            let status = try await client.run("baton.jobs", direct: { try await $0.killJob(id: id) }, remote: { try await $0.killJob(id: id).status })
            print(status == .cancelled
                  ? "job \(id) cancelled: it had not started"
                  : "job \(id) is terminating: its worker stops it ('baton jobs wait \(id)' waits for the end)")
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A live view of a job or an orchestration run (phases, tasks, statuses, elapsed times) until it ends.")

        @OptionGroup var client: ClientOptions
        @Argument(help: "Job id.") var id: Int64
        @Option(help: "Seconds between refreshes.") var interval: Double = 0.5

        func run() async throws {
            let (id, interval) = (self.id, max(0.1, self.interval))
            let tty = isatty(STDOUT_FILENO) == 1
            let final = try await client.run("baton.jobs", direct: { store in
                try await watchJob(id: id, interval: interval, tty: tty) {
                    guard let job = try await store.job(id: id) else { throw BatonError(.notFound, "no job \(id)") }
                    return (job, job.isOrchestration ? try await store.children(of: id) : [])
                }
            }, remote: { api in
                try await watchJob(id: id, interval: interval, tty: tty) {
                    let job = try await api.job(id: id)
                    return (job, job.isOrchestration ? try await api.children(of: job) : [])
                }
            })
            if !final.status.isSuccessful { throw ExitCode(1) }
        }
    }
}

/// Redraws a job or run (on a terminal) or prints it when it changed, until it is final.
func watchJob(id: Int64, interval: Double, tty: Bool, onChange: (Job, [Job]) async throws -> Void = { _, _ in },
              fetch: () async throws -> (Job, [Job])) async throws -> Job {
    var previous: [String] = []
    func steady(_ lines: [String]) -> [String] { lines.map { $0.replacingOccurrences(of: #"[0-9.]+s so far"#, with: "", options: .regularExpression) } }
    while true {
        let (job, children) = try await fetch()
        let lines = job.isOrchestration ? renderRun(RunView(run: job, children: children)) : ["job \(job.id) \(job.componentId)/\(job.configId): \(job.status.rawValue)  \(elapsed(job, now: Date()))"]
        if tty {
            print("\u{1B}[H\u{1B}[2J" + lines.joined(separator: "\n"))
        } else if steady(lines) != steady(previous) {
            print(lines.joined(separator: "\n"))
            print("")
        }
        previous = lines
        try await onChange(job, children)
        if job.status.isFinal { return job }
        try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
    }
}

/// Polls until the job is final (100 ms rising to 1 s).
func waitForJob(_ store: Store, id: Int64) async throws -> Job {
    var delay = 100
    while true {
        guard let job = try await store.job(id: id) else { throw BatonError(.notFound, "job \(id) disappeared") }
        if job.status.isFinal { return job }
        try await Task.sleep(for: .milliseconds(delay))
        delay = min(delay * 2, 1000)
    }
}

func printJobTable(_ jobs: [Job]) {
    let header = ["ID", "STATUS", "COMPONENT", "CONFIG", "CREATED", "DURATION", "WAITING"]
    let rows = jobs.map { job in
        [String(job.id), job.status.rawValue, job.componentId, job.configId, Job.formatTime(job.createdTime),
         job.durationSeconds.map { String(format: "%.2fs", $0) } ?? "-", job.waitingReason?.rawValue ?? ""]
    }
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
    for row in [header] + rows {
        print(row.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
    if jobs.isEmpty { print("(no jobs)") }
}

func printJobDetail(_ job: Job) {
    let lines: [(String, String)] = [
        ("id", String(job.id)), ("runId", job.runId), ("parentRunId", job.parentRunId ?? "-"),
        ("project", job.projectId), ("status", job.status.rawValue + (job.waitingReason.map { " (\($0.rawValue))" } ?? "")),
        ("desiredStatus", job.desiredStatus.rawValue), ("component", job.componentId), ("config", job.configId),
        ("mode", job.mode), ("createdTime", Job.formatTime(job.createdTime)),
        ("startTime", job.startTime.map(Job.formatTime) ?? "-"), ("endTime", job.endTime.map(Job.formatTime) ?? "-"),
        ("durationSeconds", job.durationSeconds.map { String(format: "%.3f", $0) } ?? "-"),
        ("worker", job.workerId ?? "-"), ("attempt", String(job.attempt)),
        ("parameters", job.parameters.jsonText), ("result", job.result?.jsonText ?? "-"),
    ]
    for (key, value) in lines { print("\(key.padding(toLength: 16, withPad: " ", startingAt: 0)) \(value)") }
}
