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

    /// One table for a run: a row per task under its phase (name, status), each failed task's
    /// message in a row under it.
    func runTable(_ view: RunView) -> String {
        var rows = ""
        for phase in view.phases {
            for (index, task) in phase.tasks.enumerated() {
                let phaseCell = index == 0
                    ? "<td class=\"phase-cell\" rowspan=\"\(phaseRowSpan(phase))\"><strong>\(h(phase.phase.name))</strong><br>\(phaseBadge(phase.status))</td>" : ""
                let target = "<span class=\"muted\">\(h(task.task.componentId)) / \(h(task.task.configId))</span>"
                guard let child = task.job else {
                    rows += "<tr>\(phaseCell)<td>\(h(task.task.name))</td><td>\(target)</td><td class=\"muted\">\(task.selected ? (task.task.enabled ? "not started" : "disabled") : "not selected")</td><td></td><td></td></tr>"
                    continue
                }
                let reason = child.waitingReason.map { " <span class=\"reason\">\(h($0.rawValue))</span>" } ?? ""
                rows += "<tr>\(phaseCell)<td>\(h(task.task.name))</td><td>\(target)</td><td>\(badge(child.status))\(reason)</td>"
                    + "<td class=\"num\"><a href=\"/console/jobs/\(child.id)\">\(child.id)</a></td><td class=\"num\">\(duration(child))</td></tr>"
                if [.error, .warning, .terminated].contains(child.status), let message = task.message {
                    rows += "<tr class=\"task-message\"><td colspan=\"5\"><span class=\"message\">\(h(String(message.prefix(400))))</span></td></tr>"
                }
            }
        }
        return "<table class=\"run\" id=\"run-table\"><thead><tr><th>Phase</th><th>Task</th><th>Component / configuration</th><th>Status</th><th class=\"num\">Job</th><th class=\"num\">Duration</th></tr></thead><tbody>\(rows)</tbody></table>"
    }

    /// The rows a phase takes in the run table: its tasks and their message rows.
    func phaseRowSpan(_ phase: RunView.Phase) -> Int {
        phase.tasks.reduce(0) { count, task in
            let message = task.job.map { [.error, .warning, .terminated].contains($0.status) } == true && task.message != nil
            return count + 1 + (message ? 1 : 0)
        }
    }

    /// Gantt bars per task, grouped by phase, on one time axis with ticks from the run's start
    /// to its end (or now): the queued part of each task lighter, tasks that never started listed.
    func timeline(_ view: RunView) -> String {
        let jobs = view.tasks.compactMap(\.job)
        guard let origin = (jobs.compactMap(\.startTime) + jobs.map(\.createdTime)).min() ?? view.run.startTime else {
            return "<p class=\"muted\">Nothing has started yet.</p>"
        }
        let end = ([view.run.endTime ?? Date()] + jobs.compactMap(\.endTime)).max()!
        let total = max(end.timeIntervalSince(origin), 0.001)
        let step = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600].first { total / $0 <= 8 } ?? 43200
        var ticks = ""
        var t = 0.0
        while t <= total + 1e-9 {
            ticks += "<span class=\"tick\" style=\"left:\(String(format: "%.2f", t / total * 100))%\">\(tickLabel(t))</span>"
            t += step
        }
        func percent(_ date: Date) -> Double { date.timeIntervalSince(origin) / total * 100 }
        var out = "<div class=\"timeline\"><div class=\"tl-row\"><span class=\"tl-name\"></span><span class=\"tl-axis\">\(ticks)</span></div>"
        for phase in view.phases {
            out += "<div class=\"tl-phase\">\(h(phase.phase.name))</div>"
            let sorted = phase.tasks.sorted { ($0.job?.startTime ?? $0.job?.createdTime ?? .distantFuture) < ($1.job?.startTime ?? $1.job?.createdTime ?? .distantFuture) }
            for task in sorted {
                let name = task.task.name
                guard let child = task.job else {
                    out += "<div class=\"tl-row\"><span class=\"tl-name\">\(h(name))</span><span class=\"tl-track empty\"><span class=\"tl-note\">\(task.selected ? "not started" : "not selected")</span></span></div>"
                    continue
                }
                var segments = ""
                let queuedUntil = child.startTime ?? child.endTime ?? (child.status.isFinal ? child.createdTime : Date())
                let queuedWidth = max(percent(queuedUntil) - percent(child.createdTime), 0)
                if queuedWidth > 0.2 {
                    segments += "<span class=\"tl-queue\" style=\"left:\(String(format: "%.2f", percent(child.createdTime)))%;width:\(String(format: "%.2f", queuedWidth))%\" title=\"\(h(name)): queued\"></span>"
                }
                if let start = child.startTime {
                    let left = percent(start)
                    let width = max(percent(child.endTime ?? Date()) - left, 0.5)
                    segments += "<span class=\"tl-bar \(child.status.rawValue)\" style=\"left:\(String(format: "%.2f", left))%;width:\(String(format: "%.2f", min(width, 100 - left)))%\" title=\"\(h(name)): \(child.status.rawValue), \(duration(child))\"></span>"
                } else {
                    segments += "<span class=\"tl-note\">\(child.status.isFinal ? "\(child.status.rawValue) before it started" : "queued")</span>"
                }
                out += "<div class=\"tl-row\"><span class=\"tl-name\">\(h(name))</span><span class=\"tl-track\">\(segments)</span></div>"
            }
        }
        return out + "</div>"
    }

    func tickLabel(_ seconds: Double) -> String {
        if seconds < 1 && seconds > 0 { return String(format: "%.2g s", seconds) }
        if seconds < 120 { return String(format: "%.0f s", seconds) }
        if seconds < 7200 { return String(format: "%.0f min", seconds / 60) }
        return String(format: "%.0f h", seconds / 3600)
    }
}

/// JSON, indented, for people.
func pretty(_ value: JSONValue) -> String {
    guard let object = try? JSONSerialization.jsonObject(with: Data(value.jsonText.utf8), options: [.fragmentsAllowed]),
          let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed]) else { return value.jsonText }
    return String(decoding: data, as: UTF8.self)
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
        return "<nav><a href=\"/console/jobs\" id=\"nav-jobs\">Jobs</a> <a href=\"/console/orchestrations\">Orchestrations</a> <a href=\"/console/fleet\" id=\"nav-fleet\">Queue &amp; fleet</a> <span class=\"muted\">project \(h(token.projectId)) · token \(token.id) (\(h(token.scope.description)))</span>"
            + "<form method=\"post\" action=\"/console/logout\" class=\"inline\">\(csrfField(session))<button type=\"submit\">Log out</button></form></nav>"
    } ?? ""
    let html = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(h(title)) · Baton</title>
        \(refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")
        <style nonce="\(nonce)">\(consoleStyle)</style></head><body>\(nav)<h1>\(h(title))</h1>\(body)
        <script nonce="\(nonce)">\(consoleScript)</script>
        </body></html>
        """
    let policy = "default-src 'none'; style-src 'nonce-\(nonce)'; style-src-attr 'unsafe-inline'; script-src 'nonce-\(nonce)'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: policy],
                    body: .init(byteBuffer: ByteBuffer(string: html)))
}

/// The console's one style sheet. Status colours pass WCAG AA (4.5:1) for their text, each
/// status its own; dark mode follows the system (`prefers-color-scheme`).
let consoleStyle = """
:root{--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d8dee4;--soft:#f6f8fa;--link:#0550ae;--accent:#0550ae}
@media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--soft:#161b22;--link:#6cb6ff;--accent:#6cb6ff}}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em;color:var(--fg);background:var(--bg)}
a{color:var(--link)}h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.15em;margin:1.2em 0 .4em}
nav{display:flex;gap:1em;align-items:center;border-bottom:1px solid var(--line);padding-bottom:.5em;flex-wrap:wrap}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid var(--line);padding:.3em .5em;text-align:left;vertical-align:top}
th{font-weight:600;background:var(--soft)}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.facts{width:auto}table.facts th{background:none;color:var(--muted);font-weight:500;padding-right:1.5em}
.muted{color:var(--muted)}.flag{background:var(--soft);border:1px solid var(--line);border-radius:3px;padding:0 .3em;font-size:12px}.error{color:#cf222e}
.status{display:inline-block;border-radius:3px;padding:0 .45em;font-size:12.5px;font-weight:600;line-height:1.6;border:1px solid transparent}
.status.created,.status.pending{background:#ddf4ff;color:#0a3069;border-color:#54aeff}
.status.waiting{background:#fff8c5;color:#6c4400;border-color:#d4a72c}
.status.processing{background:#0969da;color:#fff}
.status.terminating{background:#8250df;color:#fff}
.status.success{background:#1a7f37;color:#fff}
.status.warning{background:#9a6700;color:#fff}
.status.error{background:#cf222e;color:#fff}
.status.terminated{background:#57606a;color:#fff}
.status.cancelled,.status.not-executed,.status.skipped{background:#eaeef2;color:#424a53;border-color:#afb8c1}
.reason{font-size:12px;border:1px dashed var(--muted);border-radius:3px;padding:0 .35em;color:var(--fg)}
.phase{border-left:3px solid var(--line);padding-left:.8em;margin:.6em 0}ul.plain{list-style:none;padding-left:0}
.inline{display:inline}.button,button{display:inline-block;border:1px solid var(--accent);background:var(--bg);color:var(--accent);padding:.2em .8em;border-radius:3px;text-decoration:none;cursor:pointer;font:inherit}
button.danger{border-color:#cf222e;color:#cf222e}button.pause{border-color:#9a6700;color:#9a6700}
@media (prefers-color-scheme: dark){button.danger{color:#ff7b72;border-color:#ff7b72}button.pause{color:#e3b341;border-color:#e3b341}}
nav.tabs{border:0;gap:.3em;margin:.6em 0}.tab{padding:.25em .5em;border:1px solid var(--line);border-radius:4px;text-decoration:none;color:var(--fg)}
.tab.current{border-color:var(--accent);box-shadow:inset 0 -2px 0 var(--accent)}.count{font-variant-numeric:tabular-nums;color:var(--muted)}
form.filters{display:flex;flex-wrap:wrap;gap:.4em .8em;align-items:center;margin:.5em 0}
input,select{font:inherit;background:var(--bg);color:var(--fg);border:1px solid var(--line);border-radius:3px;padding:.1em .3em}
.notice{background:var(--soft);border-left:3px solid var(--accent);padding:.3em .6em}.bulk{margin:.5em 0}
.message{color:#cf222e;font-size:13px}@media (prefers-color-scheme: dark){.message,.error{color:#ff7b72}}
tr.task-message td{border-top:0;padding-left:2em}td.phase-cell{background:var(--soft);min-width:9em}
.result{border:1px solid var(--line);border-left:4px solid #1a7f37;padding:.2em .8em;margin:.6em 0}.result.failed{border-left-color:#cf222e}.result.warned{border-left-color:#9a6700}
.result h2{margin:.3em 0}.result-message{font-weight:600;white-space:pre-wrap}
.timeline{border:1px solid var(--line);padding:.5em}.tl-phase{font-weight:600;margin-top:.4em}
.tl-row{display:flex;align-items:center;gap:.5em;min-height:20px}.tl-name{width:180px;flex:none;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
.tl-axis{position:relative;flex:1;height:16px;border-bottom:1px solid var(--line);font-size:11px;color:var(--muted)}
.tick{position:absolute;top:0;border-left:1px solid var(--line);padding-left:2px;height:16px;white-space:nowrap}
.tl-track{position:relative;flex:1;height:14px;background:var(--soft)}.tl-note{font-size:12px;color:var(--muted);padding-left:4px;line-height:14px}
.tl-bar{position:absolute;top:1px;height:12px;border-radius:2px;background:#0969da}
.tl-queue{position:absolute;top:5px;height:4px;background:repeating-linear-gradient(90deg,#d4a72c 0 4px,transparent 4px 7px)}
.tl-bar.success{background:#1a7f37}.tl-bar.error{background:#cf222e}.tl-bar.warning{background:#9a6700}.tl-bar.terminating{background:#8250df}
.tl-bar.terminated{background:#57606a}.tl-bar.cancelled{background:#afb8c1}
.meter{display:inline-block;width:160px;height:10px;background:var(--soft);border:1px solid var(--line);vertical-align:middle}.meter span{display:block;height:100%;background:#0969da}
tr.gone{opacity:.6}
pre{background:var(--soft);padding:.5em;overflow:auto;max-height:300px}
pre#log{max-height:480px;font-size:12.5px;line-height:1.4}
.line .ts{color:var(--muted);margin-right:.6em}.line .tag{font-size:11px;border-radius:2px;padding:0 .3em;margin-right:.4em}
.line.stderr{color:#cf222e;background:rgba(207,34,46,.07)}.line.stderr .tag{background:#cf222e;color:#fff}
.line.system{color:var(--muted)}.line.system .tag{border:1px solid var(--muted)}
@media (prefers-color-scheme: dark){.line.stderr{color:#ff7b72}}
.log-tools{display:flex;flex-wrap:wrap;gap:.4em .8em;align-items:center}
"""

/// The console's one script (run by nonce): local times, confirmations, and a job's log —
/// load earlier lines, follow new ones without reloading, keep the reader's place, filter.
let consoleScript = """
for (const t of document.querySelectorAll("time.local")) { const d = new Date(t.dateTime);
  t.insertAdjacentText("afterend", " (" + d.toLocaleString([], {dateStyle: "medium", timeStyle: "short"}) + " your time)"); }
for (const t of document.querySelectorAll("time.viewer")) { const d = new Date(t.dateTime);
  t.title = t.dateTime + " (UTC)"; t.textContent = d.toLocaleString([], {dateStyle: "medium", timeStyle: "medium"}); }
for (const f of document.querySelectorAll("form[data-confirm]")) {
  f.addEventListener("submit", e => { if (!confirm(f.dataset.confirm)) e.preventDefault(); }); }
const log = document.getElementById("log");
if (log) {
  const url = log.dataset.events, count = document.getElementById("log-count"), search = document.getElementById("log-search");
  let first = log.dataset.first, last = log.dataset.last, total = +log.dataset.total;
  const streams = () => new Set([...document.querySelectorAll("input.stream:checked")].map(b => b.value));
  const visible = (s) => { const on = streams(), q = (search.value || "").toLowerCase();
    return on.has(s.dataset.stream) && (!q || s.textContent.toLowerCase().includes(q)); };
  const line = (e) => { const s = document.createElement("span"); s.className = "line " + e.stream; s.dataset.id = e.id; s.dataset.stream = e.stream;
    const ts = document.createElement("span"); ts.className = "ts"; ts.textContent = e.time.slice(11, 23); s.append(ts);
    if (e.stream !== "stdout") { const tag = document.createElement("span"); tag.className = "tag"; tag.textContent = e.stream; s.append(tag); }
    s.append(e.message + "\\n"); s.hidden = !visible(s); return s; };
  for (const s of log.querySelectorAll(".line")) s.dataset.stream = s.classList[1];
  const recount = () => { count.textContent = log.querySelectorAll(".line").length + " of " + total + " lines"; };
  const refilter = () => { for (const s of log.querySelectorAll(".line")) s.hidden = !visible(s); };
  for (const b of document.querySelectorAll("input.stream")) b.addEventListener("change", refilter);
  search.addEventListener("input", refilter);
  log.scrollTop = log.scrollHeight;
  const earlier = document.getElementById("load-earlier");
  if (earlier) earlier.addEventListener("click", async () => {
    const r = await fetch(url + "?before=" + first, {credentials: "same-origin"}); const d = await r.json();
    const height = log.scrollHeight, top = log.scrollTop, frag = document.createDocumentFragment();
    for (const e of d.events) frag.append(line(e));
    log.prepend(frag); log.scrollTop = top + (log.scrollHeight - height);
    if (d.events.length) first = d.events[0].id;
    if (d.earlier > 0) earlier.textContent = "Load " + Math.min(d.earlier, 500) + " earlier"; else earlier.remove();
    recount(); });
  const follow = document.getElementById("follow");
  if (log.dataset.final !== "true") {
    const tick = async () => {
      if (follow && !follow.checked) { setTimeout(tick, 1000); return; }
      let d;
      try { const r = await fetch(url + "?after=" + last, {credentials: "same-origin"}); d = await r.json(); } catch (e) { setTimeout(tick, 3000); return; }
      const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
      const frag = document.createDocumentFragment();
      for (const e of d.events) frag.append(line(e));
      log.append(frag);
      if (d.events.length) { last = d.events[d.events.length - 1].id; total += d.events.length; recount(); if (atEnd) log.scrollTop = log.scrollHeight; }
      const badge = document.querySelector("#job-status .status");
      if (badge && badge.textContent !== d.status) { badge.textContent = d.status; badge.className = "status " + d.status; }
      if (d.final) { const note = document.createElement("p"); note.className = "notice"; note.id = "finished";
        note.textContent = "The job finished (" + d.status + "). "; const a = document.createElement("a"); a.href = location.pathname; a.textContent = "Reload for its result";
        note.append(a); log.after(note); if (follow) follow.parentElement.remove(); return; }
      setTimeout(tick, 1000); };
    setTimeout(tick, 1000);
  }
}
"""
