import Foundation

/// How a component runs: the executor and its settings, stored as JSON in `components.executor`.
public enum ExecutorSpec: Sendable, Hashable {
    /// Runs `command` (argv, never a shell string) with the parameters as JSON on stdin.
    case process(command: [String], environment: [String: String], workingDirectory: String?)
    /// POSTs the parameters as JSON to `url`; 2xx is success.
    case http(url: String, headers: [String: String], maxResponseBytes: Int)
    /// Runs the configuration's `sql` against a target database, in a transaction.
    case sql(databaseURL: String?, databaseURLEnv: String?)
    /// Built-ins for tests and benchmarks.
    case noop
    case sleep
    case fail
    /// Orchestration runs: the coordinator runs them (component `keboola.orchestrator` only).
    case orchestrator

    public static let orchestratorComponentId = "keboola.orchestrator"
    public static let typeNames = ["process", "http", "sql", "noop", "sleep", "fail"]
    public static let defaultMaxResponseBytes = 65_536

    public var typeName: String {
        switch self {
        case .process: "process"
        case .http: "http"
        case .sql: "sql"
        case .noop: "noop"
        case .sleep: "sleep"
        case .fail: "fail"
        case .orchestrator: "orchestrator"
        }
    }

    /// Reads an executor from its JSON form; problems come back as (field, message) pairs.
    public static func parse(_ json: JSONValue) -> Result<ExecutorSpec, FieldIssues> {
        guard let object = json.objectValue else {
            return .failure(FieldIssues([FieldIssue("executor", "must be an object with a 'type' (one of \(typeNames.joined(separator: ", "))), got \(json.typeName)")]))
        }
        guard let type = object["type"]?.stringValue else {
            return .failure(FieldIssues([FieldIssue("executor.type", "is required: one of \(typeNames.joined(separator: ", "))")]))
        }
        var issues: [FieldIssue] = []
        func strings(_ key: String) -> [String: String] {
            guard let value = object[key] else { return [:] }
            guard let dict = value.objectValue else {
                issues.append(FieldIssue("executor.\(key)", "must be an object of strings"))
                return [:]
            }
            var out: [String: String] = [:]
            for (k, v) in dict {
                if let s = v.stringValue { out[k] = s } else {
                    issues.append(FieldIssue("executor.\(key).\(k)", "must be a string, got \(v.typeName)"))
                }
            }
            return out
        }
        let spec: ExecutorSpec
        switch type {
        case "process":
            var argv: [String] = []
            switch object["command"] {
            case .array(let items)?:
                argv = items.compactMap(\.stringValue)
                if argv.count != items.count || argv.isEmpty {
                    issues.append(FieldIssue("executor.command", "must be a non-empty list of strings (argv), e.g. [\"python3\", \"extract.py\"]"))
                }
            case .string?:
                issues.append(FieldIssue("executor.command", "must be a list of strings (argv), not a shell string: write [\"sh\", \"-c\", \"...\"] if you need a shell"))
            default:
                issues.append(FieldIssue("executor.command", "is required: a non-empty list of strings (argv)"))
            }
            let environment = strings("environment")
            let directory = object["workingDirectory"]?.stringValue
            spec = .process(command: argv, environment: environment, workingDirectory: directory)
        case "http":
            let url = object["url"]?.stringValue ?? ""
            if !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                issues.append(FieldIssue("executor.url", "is required: an http:// or https:// URL"))
            }
            var limit = defaultMaxResponseBytes
            if let raw = object["maxResponseBytes"] {
                if let n = raw.numberValue, n >= 0, n == n.rounded() { limit = Int(n) } else {
                    issues.append(FieldIssue("executor.maxResponseBytes", "must be a non-negative integer"))
                }
            }
            spec = .http(url: url, headers: strings("headers"), maxResponseBytes: limit)
        case "sql":
            let url = object["databaseUrl"]?.stringValue
            let env = object["databaseUrlEnv"]?.stringValue
            if (url == nil) == (env == nil) {
                issues.append(FieldIssue("executor.databaseUrl", "give exactly one of databaseUrl (postgres://...) or databaseUrlEnv (the name of an environment variable of the worker that holds the URL)"))
            }
            spec = .sql(databaseURL: url, databaseURLEnv: env)
        case "noop": spec = .noop
        case "sleep": spec = .sleep
        case "fail": spec = .fail
        case "orchestrator": spec = .orchestrator
        default:
            return .failure(FieldIssues([FieldIssue("executor.type", "unknown executor '\(type)': use one of \(typeNames.joined(separator: ", "))")]))
        }
        return issues.isEmpty ? .success(spec) : .failure(FieldIssues(issues))
    }

    /// The JSON stored in the database.
    public var json: JSONValue {
        switch self {
        case .process(let command, let environment, let directory):
            var object: [String: JSONValue] = ["type": "process", "command": .array(command.map { .string($0) })]
            if !environment.isEmpty { object["environment"] = .object(environment.mapValues { .string($0) }) }
            if let directory { object["workingDirectory"] = .string(directory) }
            return .object(object)
        case .http(let url, let headers, let limit):
            var object: [String: JSONValue] = ["type": "http", "url": .string(url), "maxResponseBytes": .number(Double(limit))]
            if !headers.isEmpty { object["headers"] = .object(headers.mapValues { .string($0) }) }
            return .object(object)
        case .sql(let url, let env):
            var object: [String: JSONValue] = ["type": "sql"]
            if let url { object["databaseUrl"] = .string(url) }
            if let env { object["databaseUrlEnv"] = .string(env) }
            return .object(object)
        case .noop: return ["type": "noop"]
        case .sleep: return ["type": "sleep"]
        case .fail: return ["type": "fail"]
        case .orchestrator: return ["type": "orchestrator"]
        }
    }

    /// Checks the parameters a job of this executor will receive.
    public func parameterIssues(_ parameters: JSONValue) -> [FieldIssue] {
        guard case .object(let object) = parameters else {
            return [FieldIssue("parameters", "must be an object, got \(parameters.typeName)")]
        }
        switch self {
        case .sleep:
            if let seconds = object["seconds"] {
                guard let n = seconds.numberValue, n >= 0, n <= 86_400 else {
                    return [FieldIssue("parameters.seconds", "must be a number of seconds between 0 and 86400")]
                }
            }
        case .fail:
            if let message = object["message"], message.stringValue == nil {
                return [FieldIssue("parameters.message", "must be a string")]
            }
        case .sql:
            guard let sql = object["sql"]?.stringValue, !sql.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                return [FieldIssue("parameters.sql", "is required for an sql component: the SQL to run")]
            }
        case .process, .http, .noop, .orchestrator:
            break
        }
        return []
    }
}

/// A problem with one field of an input, with a message that says how to fix it.
public struct FieldIssue: Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
}

/// Several field problems found at once.
public struct FieldIssues: Error, Sendable, Hashable {
    public var items: [FieldIssue]
    public init(_ items: [FieldIssue]) { self.items = items }
}

extension JSONValue: ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension JSONValue: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}
