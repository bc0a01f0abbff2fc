import BatonModel
import Foundation
import Hummingbird
import NIOCore

// The console's HTML: the pieces its screens share, and the page around them.

extension Console {
    /// A checkbox per task (name `task`), grouped by phase; a disabled task's box is disabled.
    func checkboxes(_ phases: [(phase: OrchestrationDefinition.Phase, tasks: [(task: OrchestrationDefinition.Task, checked: Bool, note: String)])]) -> String {
        phases.map { phase in
            let tasks = phase.tasks.map { item in
                let task = item.task, on = item.task.enabled
                return "<li><label><input type=\"checkbox\" name=\"task\" value=\"\(h(task.id))\"\(item.checked ? " checked" : "")\(on ? "" : " disabled")> "
                    + "\(h(task.name))</label> <span class=\"muted\">\(h(task.componentId)) / \(h(task.configId))\(on ? "" : ", disabled")\(item.note.isEmpty ? "" : ", \(h(item.note))")</span></li>"
            }.joined()
            return "<div class=\"phase\"><h3>\(h(phase.phase.name))</h3><ul class=\"plain\">\(tasks)</ul></div>"
        }.joined()
    }

    /// Gantt bars per task, grouped by phase, on one time axis from the run's start to its end (or now).
    func timeline(_ view: RunView) -> String {
        let jobs = view.tasks.compactMap(\.job)
        guard let origin = jobs.compactMap(\.startTime).min() ?? view.run.startTime else { return "<p class=\"muted\">Nothing has started yet.</p>" }
        let end = ([view.run.endTime ?? Date()] + jobs.compactMap(\.endTime)).max()!
        let total = max(end.timeIntervalSince(origin), 0.001)
        var out = "<div class=\"timeline\"><div class=\"axis\">0 s … \(String(format: "%.2f", total)) s</div>"
        for phase in view.phases {
            let rows = phase.tasks.compactMap { task in task.job.map { (name: task.task.name, job: $0) } }
            guard !rows.isEmpty else { continue }
            out += "<div class=\"tl-phase\">\(h(phase.phase.name))</div>"
            for (name, child) in rows.sorted(by: { ($0.job.startTime ?? .distantFuture) < ($1.job.startTime ?? .distantFuture) }) {
                guard let start = child.startTime else {
                    out += "<div class=\"tl-row\"><span class=\"tl-name\">\(h(name))</span><span class=\"muted\">not started</span></div>"
                    continue
                }
                let left = start.timeIntervalSince(origin) / total * 100
                let width = max((child.endTime ?? Date()).timeIntervalSince(start) / total * 100, 0.5)
                out += "<div class=\"tl-row\"><span class=\"tl-name\">\(h(name))</span><span class=\"tl-track\"><span class=\"tl-bar \(child.status.rawValue)\" "
                    + "style=\"left:\(String(format: "%.2f", left))%;width:\(String(format: "%.2f", min(width, 100 - left)))%\" title=\"\(h(name)): \(duration(child))\"></span></span></div>"
            }
        }
        return out + "</div>"
    }
}

func loginForm(_ message: String?, csrf: String) -> String {
    (message.map { "<p class=\"error\">\(h($0))</p>" } ?? "")
        + "<form method=\"post\" action=\"/console/login\"><input type=\"hidden\" name=\"csrf\" value=\"\(h(csrf))\"><p><label>Token <input type=\"password\" name=\"token\" id=\"token\" size=\"50\" autocomplete=\"off\"></label></p>"
        + "<p><button type=\"submit\" id=\"login\">Log in</button></p></form>"
}

/// The hidden field every console form carries: the session's CSRF token.
func csrfField(_ session: Console.Session) -> String {
    "<input type=\"hidden\" name=\"csrf\" value=\"\(h(session.csrf))\">"
}

func h(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}

func u(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? text }

func badge(_ status: JobStatus) -> String { "<span class=\"status \(status.rawValue)\">\(status.rawValue)</span>" }
func phaseBadge(_ status: PhaseStatus) -> String { "<span class=\"status \(status.rawValue)\">\(status.rawValue)</span>" }

func duration(_ job: Job) -> String {
    if let seconds = job.durationSeconds { return String(format: "%.2f s", seconds) }
    if let start = job.startTime { return String(format: "%.1f s so far", Date().timeIntervalSince(start)) }
    return "–"
}

/// "2026-11-28 07:00 UTC".
func utcMinute(_ date: Date) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
    return String(format: "%04d-%02d-%02d %02d:%02d UTC", c.year!, c.month!, c.day!, c.hour!, c.minute!)
}

func redirect(_ location: String) -> Response {
    Response(status: .seeOther, headers: [.location: location])
}

/// A console page. Its Content-Security-Policy lets only this page's own style and script (by a
/// nonce made for this answer) run, forms post only here, and no other site frame it.
func page(_ title: String, _ body: String, status: HTTPResponse.Status = .ok, session: Console.Session? = nil, refresh: Int? = nil) -> Response {
    let nonce = Token.newSecret(prefix: "")
    let nav = session.map { session in
        let token = session.token
        return "<nav><a href=\"/console/orchestrations\">Orchestrations</a> <span class=\"muted\">project \(h(token.projectId)) · token \(token.id) (\(h(token.scope.description)))</span>"
            + "<form method=\"post\" action=\"/console/logout\" class=\"inline\">\(csrfField(session))<button type=\"submit\">Log out</button></form></nav>"
    } ?? ""
    let html = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(h(title)) · Baton</title>
        \(refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")
        <style nonce="\(nonce)">
        body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1em;color:#222}
        nav{display:flex;gap:1em;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5em}
        table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.3em .5em;text-align:left}
        .muted{color:#777}.flag{background:#eef;border-radius:3px;padding:0 .3em;font-size:12px}.error{color:#b00}
        .status{border-radius:3px;padding:0 .4em;color:#fff;background:#888}.success{background:#2a7}.warning{background:#d90}
        .error.status,.status.error{background:#c33;color:#fff}.processing,.terminating{background:#27c}.waiting,.created,.pending{background:#999}
        .terminated,.cancelled,.not-executed,.skipped{background:#555}
        .phase{border-left:3px solid #ccd;padding-left:.8em;margin:.6em 0}ul.plain{list-style:none;padding-left:0}
        .inline{display:inline}.button,button{display:inline-block;border:1px solid #27c;background:#fff;color:#27c;padding:.2em .8em;border-radius:3px;text-decoration:none;cursor:pointer}
        .timeline{border:1px solid #eee;padding:.5em}.tl-phase{font-weight:600;margin-top:.4em}.axis{color:#777;font-size:12px}
        .tl-row{display:flex;align-items:center;gap:.5em;height:20px}.tl-name{width:180px;overflow:hidden;white-space:nowrap}
        .tl-track{position:relative;flex:1;height:12px;background:#f6f6f6}.tl-bar{position:absolute;top:0;height:12px;background:#27c;border-radius:2px}
        .tl-bar.success{background:#2a7}.tl-bar.error{background:#c33}.tl-bar.warning{background:#d90}
        pre{background:#f7f7f7;padding:.5em;overflow:auto;max-height:300px}
        </style></head><body>\(nav)<h1>\(h(title))</h1>\(body)
        <script nonce="\(nonce)">for (const t of document.querySelectorAll("time.local")) { const d = new Date(t.dateTime);
        t.insertAdjacentText("afterend", " (" + d.toLocaleString([], {dateStyle: "medium", timeStyle: "short"}) + " your time)"); }</script>
        </body></html>
        """
    let policy = "default-src 'none'; style-src 'nonce-\(nonce)'; style-src-attr 'unsafe-inline'; script-src 'nonce-\(nonce)'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: policy],
                    body: .init(byteBuffer: ByteBuffer(string: html)))
}
