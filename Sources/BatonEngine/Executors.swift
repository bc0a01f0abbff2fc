import BatonModel
import BatonStore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

/// What an executor reports when a job's work ends.
public struct ExecutionResult: Sendable {
    public var status: JobStatus
    public var result: JSONValue
    /// The job was stopped because its worker could no longer vouch for its claim: nothing is
    /// recorded for it (the coordinator rescues it after its lease).
    public var fenced = false

    public init(status: JobStatus, result: JSONValue, fenced: Bool = false) {
        self.status = status
        self.result = result
        self.fenced = fenced
    }

    static let fencedResult = ExecutionResult(status: .error, result: ["message": "fenced: the lease was not renewed in time", "reason": "fenced"], fenced: true)

    public static func success(_ message: String, _ extra: [String: JSONValue] = [:]) -> ExecutionResult {
        var object = extra
        object["message"] = .string(message)
        return ExecutionResult(status: .success, result: .object(object))
    }

    public static func error(_ message: String, _ extra: [String: JSONValue] = [:]) -> ExecutionResult {
        var object = extra
        object["message"] = .string(message)
        return ExecutionResult(status: .error, result: .object(object))
    }
}

/// Receives a job's output lines; the worker writes them as job events in batches.
public protocol EventSink: Sendable {
    func emit(_ stream: EventStream, _ message: String)
}

/// Runs one job's work according to the executor frozen into the job.
public enum Executors {
    static func run(_ job: Job, events: any EventSink, control: JobControl, logger: Logger) async -> ExecutionResult {
        let spec: ExecutorSpec
        switch ExecutorSpec.parse(job.executor) {
        case .success(let value): spec = value
        case .failure(let issues): return .error("invalid executor: \(issues.items.map(\.description).joined(separator: "; "))")
        }
        switch spec {
        case .noop:
            return .success("noop")
        case .orchestrator:
            return .error("an orchestration run is run by the coordinator, not a worker")
        case .sleep:
            let seconds = job.parameters["seconds"]?.numberValue ?? 1
            do {
                try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            } catch {
                return .error("interrupted")
            }
            return .success("slept \(seconds) s")
        case .fail:
            return .error(job.parameters["message"]?.stringValue ?? "failed on purpose")
        case .process(let command, let environment, let directory):
            return await ProcessExecutor.run(job: job, command: command, environment: environment, directory: directory, events: events, control: control)
        case .http(let url, let headers, let limit):
            return await runHTTP(job: job, url: url, headers: headers, limit: limit)
        case .sql(let url, let env):
            return await runSQL(job: job, url: url, env: env, logger: logger)
        }
    }

    static func runHTTP(job: Job, url: String, headers: [String: String], limit: Int) async -> ExecutionResult {
        guard let target = URL(string: url) else { return .error("invalid URL \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = "POST"
        request.httpBody = Data(job.parameters.jsonText.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(String(job.id), forHTTPHeaderField: "X-Baton-Job-Id")
        request.setValue(job.runId, forHTTPHeaderField: "X-Baton-Run-Id")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.timeoutInterval = 3600
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            let code = (response as? HTTPURLResponse)?.statusCode ?? 0
            let body = String(decoding: data.prefix(limit), as: UTF8.self)
            let extra: [String: JSONValue] = ["statusCode": .number(Double(code)), "body": .string(body), "truncated": .bool(data.count > limit)]
            return (200..<300).contains(code) ? .success("HTTP \(code)", extra) : .error("HTTP \(code) from \(url)", extra)
        } catch {
            return .error("HTTP request to \(url) failed: \(error.localizedDescription)")
        }
    }

    static func runSQL(job: Job, url: String?, env: String?, logger: Logger) async -> ExecutionResult {
        let target = url ?? env.flatMap { ProcessInfo.processInfo.environment[$0] }
        guard let target, !target.isEmpty else {
            return .error("the worker has no environment variable \(env ?? "?") holding the target database URL")
        }
        guard let sql = job.parameters["sql"]?.stringValue else { return .error("parameters.sql is missing") }
        do {
            let count = try await SQLTarget.run(url: target, sql: sql, logger: logger)
            return .success("ran \(count) statement\(count == 1 ? "" : "s")", ["statements": .number(Double(count))])
        } catch {
            return .error("\(error)")
        }
    }
}
