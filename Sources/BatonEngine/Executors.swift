import BatonModel
import BatonStore
import Foundation
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

/// Runs one job's work according to the executor frozen into the job, under the worker's
/// `ExecutionPolicy`: secrets are opened here (and only here), for the job, and every value they
/// held is masked in the job's output and result.
public enum Executors {
    static func run(_ job: Job, events: any EventSink, control: JobControl, policy: ExecutionPolicy, logger: Logger) async -> ExecutionResult {
        var job = job
        var secretValues: [String] = []
        let executorJSON: JSONValue
        do {
            let held = Secrets.secretValues(job.parameters) + Secrets.secretValues(job.executor)
            if !held.contains(where: Secrets.isSealed) {
                // None sealed (none at all, or stored before encryption was set up): still masked.
                executorJSON = job.executor
                secretValues = held
            } else {
                guard let keyring = policy.secrets else {
                    return .error("the job holds secrets (# keys), and this worker has no key to open them: start it with \(SecretKeyring.variable) set")
                }
                let parameters = try keyring.openSecrets(in: job.parameters, projectId: job.projectId)
                let executor = try keyring.openSecrets(in: job.executor, projectId: job.projectId)
                job.parameters = parameters.json
                executorJSON = executor.json
                secretValues = parameters.values + executor.values
            }
        } catch let error as BatonError {
            return .error("cannot open the job's secrets: \(error.message)")
        } catch {
            return .error("cannot open the job's secrets")
        }
        let masked = MaskingSink(events, values: secretValues)
        var outcome = await execute(job, executor: executorJSON, events: masked, control: control, policy: policy, logger: logger)
        if !secretValues.isEmpty { outcome.result = Secrets.maskValues(in: outcome.result, secretValues) }
        return outcome
    }

    static func execute(_ job: Job, executor: JSONValue, events: any EventSink, control: JobControl, policy: ExecutionPolicy, logger: Logger) async -> ExecutionResult {
        let spec: ExecutorSpec
        switch ExecutorSpec.parse(executor) {
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
            return await ProcessExecutor.run(job: job, command: command, environment: policy.processEnvironment(component: environment),
                                             user: policy.jobUser(for: job.projectId), directory: directory, events: events, control: control)
        case .http(let url, let headers, let limit):
            return await runHTTP(job: job, url: url, headers: headers, limit: limit, policy: policy.outbound)
        case .sql(let target):
            return await runSQL(job: job, target: target, policy: policy, logger: logger)
        }
    }

    static func runHTTP(job: Job, url: String, headers: [String: String], limit: Int, policy: OutboundPolicy) async -> ExecutionResult {
        var sent: [(String, String)] = [("Content-Type", "application/json"), ("User-Agent", "baton"),
                                        ("X-Baton-Job-Id", String(job.id)), ("X-Baton-Run-Id", job.runId)]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { sent.append((Secrets.plainName(name), value)) }
        do {
            let response = try await OutboundHTTP(policy: policy).send(.POST, url: url, headers: sent, body: Data(job.parameters.jsonText.utf8),
                                                                         limit: limit, timeout: .seconds(job.timeoutSeconds ?? 3600))
            let code = response.status
            let body = String(decoding: response.body, as: UTF8.self)
            let extra: [String: JSONValue] = ["statusCode": .number(Double(code)), "body": .string(body), "truncated": .bool(response.truncated)]
            return (200..<300).contains(code) ? .success("HTTP \(code)", extra) : .error("HTTP \(code) from \(response.url)", extra)
        } catch let failure as OutboundHTTP.Failure {
            return .error("HTTP request to \(url) failed: \(failure.description)")
        } catch {
            return .error("HTTP request to \(url) failed: \(error)")
        }
    }

    static func runSQL(job: Job, target: ExecutorSpec.SQLTargetRef, policy: ExecutionPolicy, logger: Logger) async -> ExecutionResult {
        let url: String
        switch policy.sqlURL(target) {
        case .success(let found): url = found
        case .failure(let error): return .error(error.message)
        }
        if case .url = target {
            // A component's own URL goes where the outbound policy lets it, like an http job.
            do {
                if let host = try DatabaseURL.host(url) {
                    let addresses = try await OutboundHTTP.resolve(host, port: 5432)
                    if let refusal = policy.outbound.refusal(host: host, addresses: addresses) { return .error(refusal) }
                } else {
                    return .error("a component's database URL may not name a Unix socket")
                }
            } catch let error as BatonError {
                return .error(error.message)
            } catch {
                return .error("\(error)")
            }
        }
        guard let sql = job.parameters["sql"]?.stringValue else { return .error("parameters.sql is missing") }
        do {
            let count = try await SQLTarget.run(url: url, sql: sql, logger: logger)
            return .success("ran \(count) statement\(count == 1 ? "" : "s")", ["statements": .number(Double(count))])
        } catch {
            return .error("\(error)")
        }
    }
}

/// Passes a job's output on with its known secret values masked.
struct MaskingSink: EventSink {
    let inner: any EventSink
    let values: [String]

    init(_ inner: any EventSink, values: [String]) {
        self.inner = inner
        self.values = Secrets.maskable(values)
    }

    func emit(_ stream: EventStream, _ message: String) {
        inner.emit(stream, values.isEmpty ? message : Secrets.maskValues(in: message, values))
    }
}
