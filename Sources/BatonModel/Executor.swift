import Foundation

/// How a component runs: the executor and its settings, stored as JSON in `components.executor`.
public enum ExecutorSpec: Sendable, Hashable {
    /// Runs `command` (argv, never a shell string) with the parameters as JSON on stdin, in an
    /// environment of its own: `environment` (a `#NAME` key is the secret variable NAME), the
    /// `BATON_*` variables, and what the operator passes on (`--pass-env`).
    case process(command: [String], environment: [String: String], workingDirectory: String?)
    /// POSTs the parameters as JSON to `url`; 2xx is success. A `#Name` header is the secret header
    /// Name. The worker's outbound policy decides which addresses it may reach.
    case http(url: String, headers: [String: String], maxResponseBytes: Int)
    /// Runs the configuration's `sql` against a target database, in a transaction: a `target` the
    /// operator named (`--sql-target NAME=ENV_VAR`), the same by its variable (`databaseUrlEnv`),
    /// or an inline URL (`databaseUrl`, `#databaseUrl` when it holds a password), which a worker
    /// takes only with `--sql-allow-url`.
    case sql(target: SQLTargetRef)
    /// Built-ins for tests and benchmarks.
    case noop
    case sleep
    case fail
    /// Orchestration runs: the coordinator runs them (component `keboola.orchestrator` only).
    case orchestrator

    public static let orchestratorComponentId = "keboola.orchestrator"
    public static let typeNames = ["process", "http", "sql", "noop", "sleep", "fail"]
    public static let defaultMaxResponseBytes = 65_536
    /// The most `maxResponseBytes` may be: what a job's result keeps (`OutputLimits.resultBytes`).
    public static let maxResponseBytesLimit = OutputLimits.resultBytes

    /// Where an `sql` job connects.
    public enum SQLTargetRef: Sendable, Hashable {
        /// A target the operator named: `--sql-target NAME=ENV_VAR`.
        case named(String)
        /// The target whose variable is this (`databaseUrlEnv`, the older spelling of a named target).
        case environment(String)
        /// A URL in the component itself; `secret` when it was given as `#databaseUrl`.
        case url(String, secret: Bool)
    }

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
                if let n = raw.numberValue, n >= 0, n <= Double(maxResponseBytesLimit), n == n.rounded() { limit = Int(n) } else {
                    issues.append(FieldIssue("executor.maxResponseBytes", "must be an integer from 0 to \(maxResponseBytesLimit) (what a job's result keeps)"))
                }
            }
            spec = .http(url: url, headers: strings("headers"), maxResponseBytes: limit)
        case "sql":
            var given: [SQLTargetRef] = []
            for key in ["target", "databaseUrlEnv", "databaseUrl", "#databaseUrl"] {
                guard let value = object[key] else { continue }
                guard let text = value.stringValue, !text.isEmpty else {
                    issues.append(FieldIssue("executor.\(key)", "must be a non-empty string"))
                    continue
                }
                switch key {
                case "target": given.append(.named(text))
                case "databaseUrlEnv": given.append(.environment(text))
                default: given.append(.url(text, secret: key.hasPrefix("#")))
                }
            }
            if given.count != 1 {
                issues.append(FieldIssue("executor.target", "give exactly one of target (a target the worker's operator named with --sql-target NAME=ENV_VAR), databaseUrlEnv (that variable's name), or databaseUrl / #databaseUrl (postgres://..., taken only by workers started with --sql-allow-url)"))
            }
            spec = .sql(target: given.first ?? .named(""))
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
        case .sql(let target):
            switch target {
            case .named(let name): return ["type": "sql", "target": .string(name)]
            case .environment(let name): return ["type": "sql", "databaseUrlEnv": .string(name)]
            case .url(let url, let secret): return .object(["type": "sql", secret ? "#databaseUrl" : "databaseUrl": .string(url)])
            }
        case .noop: return ["type": "noop"]
        case .sleep: return ["type": "sleep"]
        case .fail: return ["type": "fail"]
        case .orchestrator: return ["type": "orchestrator"]
        }
    }

    /// The executor's JSON as a read or trigger token sees it: header and environment values and
    /// database URLs masked (an admin sees what it wrote, with `#` values sealed).
    public static func masked(_ json: JSONValue) -> JSONValue {
        guard case .object(var object) = json else { return json }
        for key in ["headers", "environment"] {
            if case .object(let values)? = object[key] { object[key] = .object(values.mapValues { _ in .string(Secrets.mask) }) }
        }
        for key in ["databaseUrl", "#databaseUrl"] where object[key] != nil {
            object[key] = .string(Secrets.mask)
        }
        return .object(object)
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
