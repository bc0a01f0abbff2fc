import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Hummingbird
import NIOCore

// The console's operating screens: the jobs page (tabs, filters, search, paging, bulk kill and
// retry), a job's page (result, details, run table, log with tail, follow and download), the
// queue and fleet page, pauses. Each acts as an API route (Console.routes names it).

extension Console {
    static let pageSize = 50
    static let logTail = 500

    // MARK: - jobs page

    /// The filter of the jobs page from its query string (the API's names: status, component,
    /// config, orchestration, initializedBy, q, since/until as createdTimeFrom/To).
    func jobFilter(_ s: Screen, fields: [String: String]) throws -> (JobFilter, FilterSource) {
        var body: [String: JSONValue] = [:]
        for name in FilterSource.filterFields {
            if let value = fields[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty { body[name] = .string(value) }
        }
        let source = try FilterSource(body: body)
        return (try api.jobFilter(s.token, source), source)
    }

    static func queryFields(_ request: Request) -> [String: String] {
        var fields: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { fields[String(key)] = String(value) }
        return fields
    }

    /// `?a=b&c=d` of the non-empty fields.
    static func query(_ fields: [String: String]) -> String {
        let pairs = fields.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { "\(q($0.key))=\(q($0.value))" }
        return pairs.isEmpty ? "" : "?" + pairs.joined(separator: "&")
    }

    func jobsPage(_ s: Screen) async throws -> Response {
        let query = Self.queryFields(s.request)
        let offset = min(max(0, Int(query["offset"] ?? "") ?? 0), Int(Int32.max))
        let notice = query["killed"].flatMap(Int.init).map { "Killed \($0) job\($0 == 1 ? "" : "s")." }
            ?? query["retried"].flatMap(Int.init).map { "Started \($0) retr\($0 == 1 ? "y" : "ies")." }
        // Only the filter's fields travel on in links and forms.
        let fields = query.filter { FilterSource.filterFields.contains($0.key) && !$0.value.isEmpty }
        var (filter, _) = try jobFilter(s, fields: fields)
        let counts = try await api.store.jobCounts(filter)
        filter.limit = Self.pageSize + 1
        filter.offset = offset
        var jobs = try await api.store.jobs(filter)
        let more = jobs.count > Self.pageSize
        if more { jobs.removeLast() }

        // Tabs: all, then each status with its count; the current one marked.
        var tabFields = fields
        tabFields["status"] = nil
        let current = fields["status"] ?? ""
        let total = counts.values.reduce(0, +)
        var tabs = "<a class=\"tab\(current.isEmpty ? " current" : "")\" href=\"/console/jobs\(Self.query(tabFields))\">all <span class=\"count\">\(total)</span></a>"
        for status in JobStatus.allCases {
            var f = tabFields
            f["status"] = status.rawValue
            tabs += "<a class=\"tab\(current == status.rawValue ? " current" : "")\" id=\"tab-\(status.rawValue)\" href=\"/console/jobs\(Self.query(f))\">"
                + "\(badge(status)) <span class=\"count\">\(counts[status] ?? 0)</span></a>"
        }

        func input(_ name: String, _ label: String, _ placeholder: String = "", size: Int = 14) -> String {
            "<label>\(h(label)) <input name=\"\(name)\" id=\"f-\(name)\" size=\"\(size)\" value=\"\(h(fields[name] ?? ""))\" placeholder=\"\(h(placeholder))\"></label>"
        }
        let by = fields["initializedBy"] ?? ""
        let initialized = "<label>started by <select name=\"initializedBy\" id=\"f-initializedBy\"><option value=\"\">any</option>"
            + ["manual", "schedule", "api"].map { "<option\(by == $0 ? " selected" : "")>\($0)</option>" }.joined() + "</select></label>"
        let filters = "<form method=\"get\" action=\"/console/jobs\" class=\"filters\">"
            + (current.isEmpty ? "" : "<input type=\"hidden\" name=\"status\" value=\"\(h(current))\">")
            + input("q", "job or run id", "1234 or 1200.1234", size: 12) + input("component", "component") + input("config", "configuration")
            + input("orchestration", "orchestration") + initialized
            + input("createdTimeFrom", "since", "2026-11-28T00:00:00Z", size: 20) + input("createdTimeTo", "until", "", size: 20)
            + " <button type=\"submit\" id=\"filter\">Filter</button> <a href=\"/console/jobs\">clear</a></form>"

        let rows = jobs.map { job -> String in
            let run = job.orchestrationJobId.map { "<a href=\"/console/jobs/\($0)\">\(h(job.parentRunId ?? String($0)))</a>" }
                ?? (job.isOrchestration ? "<span class=\"muted\">run</span>" : "")
            let reason = job.waitingReason.map { " <span class=\"reason\">\(h($0.rawValue))</span>" } ?? ""
            let message = job.status == .error || job.status == .warning ? (job.result?["message"]?.stringValue).map { "<div class=\"message\">\(h(String($0.prefix(160))))</div>" } ?? "" : ""
            return "<tr><td class=\"num\"><a href=\"/console/jobs/\(job.id)\">\(job.id)</a></td><td>\(badge(job.status))\(reason)</td>"
                + "<td>\(h(job.componentId)) / \(h(job.configId))\(message)</td><td>\(run)</td>"
                + "<td>\(timeTag(job.createdTime))</td><td class=\"num\">\(duration(job))</td><td>\(h(job.initializedBy))</td></tr>"
        }.joined()
        let table = jobs.isEmpty ? "<p class=\"muted\">No jobs match.</p>"
            : "<table class=\"jobs\" id=\"jobs\"><thead><tr><th class=\"num\">Job</th><th>Status</th><th>Component / configuration</th><th>Run</th><th>Created</th><th class=\"num\">Duration</th><th>Started by</th></tr></thead><tbody>\(rows)</tbody></table>"
        var pager = ""
        var pageFields = fields
        if offset > 0 { pageFields["offset"] = String(max(0, offset - Self.pageSize)); pager += "<a href=\"/console/jobs\(Self.query(pageFields))\" id=\"newer\">← newer</a> " }
        pager += "<span class=\"muted\">\(jobs.isEmpty ? 0 : offset + 1)–\(offset + jobs.count)</span>"
        if more { pageFields["offset"] = String(offset + Self.pageSize); pager += " <a href=\"/console/jobs\(Self.query(pageFields))\" id=\"older\">older →</a>" }

        // Bulk actions over the whole filter, not just this page.
        let pauses = try await api.store.pauses(projectId: s.token.projectId)
        var bulk = ""
        if s.token.scope == .admin {
            let hidden = fields.filter { FilterSource.filterFields.contains($0.key) && !$0.value.isEmpty }.sorted { $0.key < $1.key }
                .map { "<input type=\"hidden\" name=\"\(h($0.key))\" value=\"\(h($0.value))\">" }.joined()
            let unfinished = [JobStatus.created, .waiting, .processing, .terminating]
            let killable = (current.isEmpty ? unfinished : unfinished.filter { $0.rawValue == current }).reduce(0) { $0 + (counts[$1] ?? 0) }
            let narrowed = hidden.isEmpty == false
            if killable > 0 && narrowed {
                bulk += "<form method=\"post\" action=\"/console/jobs/kill\" class=\"inline\" data-confirm=\"Kill all \(killable) unfinished jobs matching this filter?\">\(csrfField(s.session))\(hidden)"
                    + "<button type=\"submit\" id=\"kill-matching\" class=\"danger\">Kill \(killable) matching…</button></form> "
            }
            let failed = current.isEmpty ? (counts[.error] ?? 0) : (current == "error" ? counts[.error] ?? 0 : 0)
            if failed > 0 && narrowed {
                bulk += "<form method=\"post\" action=\"/console/jobs/retry\" class=\"inline\" data-confirm=\"Retry the failed runs and jobs matching this filter (up to 100)?\">\(csrfField(s.session))\(hidden)"
                    + "<button type=\"submit\" id=\"retry-matching\">Retry failed matching…</button></form> "
            }
            if let component = fields["component"], !component.isEmpty {
                let config = fields["config"] ?? ""
                let scope = config.isEmpty ? "component \(component)" : "configuration \(component)/\(config)"
                if pauses.contains(where: { $0.scope.componentId == component && $0.scope.configId == (config.isEmpty ? nil : config) }) {
                    bulk += resumeForm(s, component: component, config: config.isEmpty ? nil : config, label: "Resume \(scope)", back: "/console/jobs\(Self.query(fields))")
                } else {
                    bulk += pauseForm(s, component: component, config: config.isEmpty ? nil : config, label: "Pause \(scope)…", back: "/console/jobs\(Self.query(fields))")
                }
            }
            if !bulk.isEmpty { bulk = "<p class=\"bulk\">\(bulk)<span class=\"muted\">acts on every job the filter matches, not only this page</span></p>" }
        }
        let pausedNote = pauses.isEmpty ? "" : "<p class=\"notice\">Paused: " + pauses.map { "\(h($0.scope.description)) (\($0.waitingJobs) waiting)" }.joined(separator: ", ")
            + " · <a href=\"/console/fleet\">queue &amp; fleet</a></p>"
        let body = (notice.map { "<p class=\"notice\" id=\"notice\">\(h($0))</p>" } ?? "") + pausedNote
            + "<nav class=\"tabs\">\(tabs)</nav>\(filters)\(bulk)\(table)<p class=\"pager\">\(pager)</p>"
        return page("Jobs", body, session: s.session)
    }

    func killMatching(_ s: Screen) async throws -> Response {
        let (filter, source) = try jobFilter(s, fields: s.form)
        guard source.narrows else { throw BatonError(.invalidInput, "filter the jobs first: an empty filter would kill every job of the project") }
        let (killed, _) = try await api.store.killJobs(filter, max: 10_000)
        var back = s.form.filter { FilterSource.filterFields.contains($0.key) }
        back["killed"] = String(killed.count)
        return redirect("/console/jobs\(Self.query(back))")
    }

    func retryMatching(_ s: Screen) async throws -> Response {
        var (filter, source) = try jobFilter(s, fields: s.form)
        guard source.narrows else { throw BatonError(.invalidInput, "filter the jobs first") }
        filter.statuses = filter.statuses.filter(\.isFinal)
        let (retried, _) = try await api.retryFailed(filter, limit: 100, tokenId: s.token.id, initializedBy: "manual")
        var back = s.form.filter { FilterSource.filterFields.contains($0.key) }
        back["retried"] = String(retried.count)
        return redirect("/console/jobs\(Self.query(back))")
    }

    // MARK: - pauses

    func pauseForm(_ s: Screen, component: String?, config: String?, label: String, back: String? = nil) -> String {
        "<form method=\"post\" action=\"/console/pauses\" class=\"inline\" data-confirm=\"\(h(label.replacingOccurrences(of: "…", with: "")))? Its queued jobs will wait until resumed.\">\(csrfField(s.session))"
            + (component.map { "<input type=\"hidden\" name=\"component\" value=\"\(h($0))\">" } ?? "")
            + (config.map { "<input type=\"hidden\" name=\"config\" value=\"\(h($0))\">" } ?? "")
            + (back.map { "<input type=\"hidden\" name=\"back\" value=\"\(h($0))\">" } ?? "")
            + "<button type=\"submit\" class=\"pause\">\(h(label))</button></form> "
    }

    func resumeForm(_ s: Screen, component: String?, config: String?, label: String, back: String? = nil) -> String {
        "<form method=\"post\" action=\"/console/pauses/resume\" class=\"inline\">\(csrfField(s.session))"
            + (component.map { "<input type=\"hidden\" name=\"component\" value=\"\(h($0))\">" } ?? "")
            + (config.map { "<input type=\"hidden\" name=\"config\" value=\"\(h($0))\">" } ?? "")
            + (back.map { "<input type=\"hidden\" name=\"back\" value=\"\(h($0))\">" } ?? "")
            + "<button type=\"submit\" class=\"resume\">\(h(label))</button></form> "
    }

    func pause(_ s: Screen) async throws -> Response {
        let component = s.form["component"].flatMap { $0.isEmpty ? nil : $0 }
        let config = s.form["config"].flatMap { $0.isEmpty ? nil : $0 }
        let scope = try PauseScope(projectId: s.token.projectId, componentId: component, configId: config)
        _ = try await api.store.pause(scope, by: "console, token \(s.token.id)")
        return redirect(Self.back(s.form["back"]))
    }

    func resume(_ s: Screen) async throws -> Response {
        let component = s.form["component"].flatMap { $0.isEmpty ? nil : $0 }
        let config = s.form["config"].flatMap { $0.isEmpty ? nil : $0 }
        let scope = try PauseScope(projectId: s.token.projectId, componentId: component, configId: config)
        let (existed, _) = try await api.store.resume(scope)
        guard existed else { throw BatonError(.notFound, "\(scope) is not paused") }
        return redirect(Self.back(s.form["back"]))
    }

    /// Where a pause or resume form returns: a console page it names, else the fleet page.
    static func back(_ path: String?) -> String {
        guard let path, path.hasPrefix("/console/"), !path.contains("//"), !path.contains("\\") else { return "/console/fleet" }
        return path
    }

    // MARK: - schedules

    func switchSchedule(_ s: Screen, enabled: Bool) async throws -> Response {
        let id = try s.id()
        guard let row = try await api.store.schedules(projectId: s.token.projectId).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no schedule '\(id)'", field: "id")
        }
        try await api.store.setScheduleEnabled(projectId: s.token.projectId, id: id, enabled: enabled)
        return redirect("/console/orchestrations/\(u(row.orchestrationId))")
    }

    func runSchedule(_ s: Screen) async throws -> Response {
        let id = try s.id()
        guard let row = try await api.store.schedules(projectId: s.token.projectId).first(where: { $0.id == id }) else {
            throw BatonError(.notFound, "no schedule '\(id)'", field: "id")
        }
        let job = try await Orchestrations.run(store: api.store, projectId: s.token.projectId, id: row.orchestrationId, only: [], exclude: [], tokenId: s.token.id)
        return redirect("/console/jobs/\(job.id)")
    }

    // MARK: - queue and fleet

    func fleet(_ s: Screen) async throws -> Response {
        let projectId = s.token.projectId
        let (limit, inUse) = try await api.store.projectLimit(projectId: projectId)
        let groups = try await api.store.queueGroups(projectId: projectId)
        let pauses = try await api.store.pauses(projectId: projectId)
        let workers = try await api.store.workers()
        let running = try await api.store.runningJobs(projectId: projectId)
        let leaders = try await api.store.leaders()
        let admin = s.token.scope == .admin

        let percent = min(100, Double(inUse) / Double(max(limit, 1)) * 100)
        var body = "<h2>Project \(h(projectId))</h2><p>Parallel jobs: <strong id=\"limit-use\">\(inUse) of \(limit)</strong> in use "
            + "<span class=\"meter\"><span style=\"width:\(String(format: "%.0f", percent))%\"></span></span></p>"

        // Counts by status x component.
        let components = Array(Set(groups.map(\.componentId))).sorted()
        let statuses: [JobStatus] = [.created, .waiting, .processing, .terminating]
        if components.isEmpty {
            body += "<p class=\"muted\">Nothing queued or running.</p>"
        } else {
            body += "<h2>Queue</h2><table class=\"matrix\" id=\"queue\"><thead><tr><th>Component</th>" + statuses.map { "<th class=\"num\">\(badge($0))</th>" }.joined() + "</tr></thead><tbody>"
            for component in components {
                body += "<tr><td>\(h(component))</td>" + statuses.map { status in
                    let n = groups.filter { $0.componentId == component && $0.status == status }.reduce(0) { $0 + $1.count }
                    return "<td class=\"num\">" + (n == 0 ? "<span class=\"muted\">0</span>" : "<a href=\"/console/jobs?component=\(q(component))&amp;status=\(status.rawValue)\">\(n)</a>") + "</td>"
                }.joined() + "</tr>"
            }
            body += "</tbody></table>"
        }
        let waiting = groups.filter { $0.status == .waiting }
        if !waiting.isEmpty {
            body += "<h2>Waiting, and why</h2><table id=\"waiting\"><thead><tr><th>Reason</th><th>Configuration</th><th class=\"num\">Jobs</th><th>Held by</th><th class=\"num\">Oldest</th></tr></thead><tbody>"
            for group in waiting {
                let holder: String
                switch group.reason {
                case "configuration-lock": holder = group.heldBy.map { "job <a href=\"/console/jobs/\($0)\">\($0)</a> of the same configuration" } ?? "an earlier job of the same configuration"
                case "project-limit": holder = "the project's limit (\(inUse) of \(limit) in use)"
                case "paused": holder = "a pause (below)"
                case "phase": holder = "an earlier phase of its run"
                default: holder = ""
                }
                let config = group.configId ?? ""
                body += "<tr><td><span class=\"reason\">\(h(group.reason ?? "–"))</span></td><td><a href=\"/console/jobs?component=\(q(group.componentId))&amp;config=\(q(config))&amp;status=waiting\">\(h(group.componentId)) / \(h(config))</a></td>"
                    + "<td class=\"num\">\(group.count)</td><td>\(holder)</td><td class=\"num\"><a href=\"/console/jobs/\(group.oldestJobId)\">\(group.oldestJobId)</a></td></tr>"
            }
            body += "</tbody></table>"
        }

        body += "<h2>Pauses</h2>"
        if pauses.isEmpty {
            body += "<p class=\"muted\">Nothing is paused.</p>"
        } else {
            body += "<table id=\"pauses\"><thead><tr><th>Scope</th><th>Since</th><th>By</th><th class=\"num\">Waiting</th><th></th></tr></thead><tbody>"
            for pause in pauses {
                let resume = admin ? resumeForm(s, component: pause.scope.componentId, config: pause.scope.configId, label: "Resume") : ""
                body += "<tr><td>\(h(pause.scope.description))</td><td>\(timeTag(pause.pausedTime))</td><td>\(h(pause.pausedBy))</td><td class=\"num\">\(pause.waitingJobs)</td><td>\(resume)</td></tr>"
            }
            body += "</tbody></table>"
        }
        if admin {
            body += "<form method=\"post\" action=\"/console/pauses\" class=\"filters\" data-confirm=\"Pause this scope? Its queued jobs will wait until resumed.\">\(csrfField(s.session))"
                + "<label>component <input name=\"component\" id=\"pause-component\" size=\"14\"></label> <label>configuration <input name=\"config\" id=\"pause-config\" size=\"14\"></label> "
                + "<button type=\"submit\" id=\"pause\" class=\"pause\">Pause</button> <span class=\"muted\">both empty: the whole project</span></form>"
        }

        body += "<h2>Workers</h2>"
        if workers.isEmpty {
            body += "<p class=\"muted\">No worker was heard from in the last hour.</p>"
        } else {
            body += "<table id=\"workers\"><thead><tr><th>Worker</th><th>Host</th><th>Version</th><th class=\"num\">Slots used</th><th>Last seen</th><th>Up since</th><th>Running here (project \(h(projectId)))</th></tr></thead><tbody>"
            for worker in workers {
                let jobs = (running[worker.id] ?? []).map { "<a href=\"/console/jobs/\($0)\">\($0)</a>" }.joined(separator: " ")
                let state = worker.alive ? "" : " <span class=\"status cancelled\">\(worker.stoppedTime == nil ? "gone" : "stopped")</span>"
                body += "<tr class=\"\(worker.alive ? "alive" : "gone")\"><td>\(h(worker.id))\(state)</td><td>\(h(worker.host)) <span class=\"muted\">pid \(worker.pid)</span></td><td>\(h(worker.version))</td>"
                    + "<td class=\"num\">\(worker.running) / \(worker.slots)</td><td>\(timeTag(worker.seenTime))</td><td>\(timeTag(worker.startedTime))</td><td>\(jobs)</td></tr>"
            }
            body += "</tbody></table>"
        }
        body += "<h2>Coordinators</h2>"
        if let leader = leaders.first(where: { $0.name == "coordinator" }) {
            body += "<table id=\"coordinators\"><thead><tr><th>Role</th><th>Coordinator</th><th class=\"num\">Term</th><th>Since</th><th>Lease until</th></tr></thead><tbody>"
                + "<tr><td>\(leader.active ? "<span class=\"status success\">active</span>" : "<span class=\"status cancelled\">lease run out</span>")</td><td>\(h(leader.holder))</td>"
                + "<td class=\"num\">\(leader.term)</td><td>\(timeTag(leader.takenTime))</td><td>\(leader.expires > Date.distantPast ? timeTag(leader.expires) : "resigned")</td></tr></tbody></table>"
                + "<p class=\"muted\">Standbys hold no row: one takes over when the active coordinator's lease runs out.</p>"
        } else {
            body += "<p class=\"muted\">No coordinator has led yet.</p>"
        }
        return page("Queue & fleet", body, session: s.session, refresh: 5)
    }

    // MARK: - a job's log

    /// `GET /console/jobs/{id}/events`: events as JSON for the log's "load earlier" and follow.
    func eventsJSON(_ s: Screen) async throws -> Response {
        let job = try await api.visibleJob(try s.jobId(), s.token)
        let fields = Self.queryFields(s.request)
        let after = Int64(fields["after"] ?? "") ?? 0
        let before = Int64(fields["before"] ?? "")
        let events: [JobEvent]
        if let before {
            events = try await api.store.events(jobId: job.id, after: 0, before: before, limit: Self.logTail, fromEnd: true)
        } else {
            events = try await api.store.events(jobId: job.id, after: after, limit: 2000, fromEnd: false)
        }
        let earlier = try await api.store.eventCount(jobId: job.id, before: events.first?.id ?? before).earlier
        let fresh = try await api.store.job(id: job.id) ?? job
        return json(.ok, ["events": .array(events.map(\.json)), "status": .string(fresh.status.rawValue), "final": .bool(fresh.status.isFinal),
                          "earlier": .number(Double(earlier))])
    }

    /// `GET /console/jobs/{id}/log.txt`: the whole log as text (up to 200,000 lines).
    func logText(_ s: Screen) async throws -> Response {
        let job = try await api.visibleJob(try s.jobId(), s.token)
        var text = ""
        var after: Int64 = 0
        var lines = 0
        while lines < 200_000 {
            let page = try await api.store.events(jobId: job.id, after: after, limit: 5000, fromEnd: false)
            guard let last = page.last else { break }
            for event in page { text += "\(Job.formatTime(event.time)) \(event.stream.rawValue) \(event.message)\n" }
            after = last.id
            lines += page.count
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .contentDisposition: "attachment; filename=\"job-\(job.id).log\""],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func logSection(_ job: Job) async throws -> String {
        let events = try await api.store.events(jobId: job.id, limit: Self.logTail, fromEnd: true)
        let (total, earlier) = try await api.store.eventCount(jobId: job.id, before: events.first?.id)
        let lines = events.map(logLine).joined()
        let streams = ["stdout", "stderr", "system"].map { "<label><input type=\"checkbox\" class=\"stream\" value=\"\($0)\" checked> \($0)</label>" }.joined(separator: " ")
        return "<h2>Log</h2><p class=\"log-tools\"><span id=\"log-count\">\(events.count) of \(total) lines</span> "
            + (earlier > 0 ? "<button type=\"button\" id=\"load-earlier\">Load \(min(earlier, Self.logTail)) earlier</button> <a href=\"/console/jobs/\(job.id)/log.txt\" id=\"earlier-fallback\" class=\"muted\"></a>" : "")
            + " \(streams) <input type=\"search\" id=\"log-search\" placeholder=\"search the log\" size=\"18\"> <a href=\"/console/jobs/\(job.id)/log.txt\" id=\"download\">download as text</a>"
            + (job.status.isFinal ? "" : " <label><input type=\"checkbox\" id=\"follow\" checked> follow</label>") + "</p>"
            + "<pre id=\"log\" data-events=\"/console/jobs/\(job.id)/events\" data-first=\"\(events.first?.id ?? 0)\" data-last=\"\(events.last?.id ?? 0)\" "
            + "data-total=\"\(total)\" data-final=\"\(job.status.isFinal)\">\(lines)</pre>"
            + (events.isEmpty && job.status.isFinal ? "<p class=\"muted\">The job said nothing.</p>" : "")
    }

    func logLine(_ event: JobEvent) -> String {
        "<span class=\"line \(event.stream.rawValue)\" data-id=\"\(event.id)\"><span class=\"ts\">\(h(String(Job.formatTime(event.time).dropFirst(11).prefix(12))))</span>"
            + (event.stream == .stdout ? "" : "<span class=\"tag\">\(event.stream.rawValue)</span>") + "\(h(event.message))\n</span>"
    }
}

/// Percent-encodes a query value.
func q(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
}

/// A time in UTC that the page's script shows in the viewer's time zone, UTC on hover.
func timeTag(_ date: Date?) -> String {
    guard let date else { return "<span class=\"muted\">–</span>" }
    let utc = Job.formatTime(date)
    return "<time class=\"viewer\" datetime=\"\(utc)\" title=\"\(utc)\">\(h(utc.replacingOccurrences(of: "T", with: " ").prefix(19) + " UTC"))</time>"
}
