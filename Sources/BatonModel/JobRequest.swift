/// The ids people choose: projects, components, configurations, orchestrations, schedules,
/// notifications. One rule, the same as the database's CHECK constraints.
public enum Identifier {
    /// Letters, digits, '.', '_' or '-', starting with a letter or digit; a project id at most
    /// 100 long, any other at most 200.
    public static func isValid(_ id: String, maxLength: Int = 200) -> Bool {
        guard let first = id.unicodeScalars.first, id.unicodeScalars.count <= maxLength else { return false }
        func plain(_ c: Unicode.Scalar) -> Bool { c.isASCII && (("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)) }
        return plain(first) && id.unicodeScalars.allSatisfy { plain($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    public static let projectMaxLength = 100

    public static func isValidProject(_ id: String) -> Bool { isValid(id, maxLength: projectMaxLength) }

    /// What an invalid id must be, for error messages.
    public static func rule(maxLength: Int = 200) -> String {
        "must be 1 to \(maxLength) letters, digits, '.', '_' or '-', starting with a letter or digit"
    }
}

/// How a job runs (Keboola's `mode`).
public enum JobMode: String, Sendable, Hashable, CaseIterable {
    case run, debug, forceRun

    /// "run, debug or forceRun".
    public static var list: String { "run, debug or forceRun" }
}

/// A request to queue jobs of one configuration: what the CLI's `jobs create` and the API's
/// `POST /v1/jobs` take, checked in one place (`validated()`). Field names are the API's.
public struct JobRequest: Sendable, Hashable {
    public var projectId: String
    public var componentId: String
    public var configId: String
    /// Overrides of the configuration's top-level parameters (an object), or nil.
    public var configData: JSONValue?
    public var mode: String
    public var count: Int
    public var timeoutSeconds: Double?
    public var retries: Int
    public var retryDelaySeconds: Double
    public var previousJobId: Int64?
    public var tokenId: Int64?
    public var initializedBy: String

    public static let counts = 1...100_000
    public static let retryCounts = 0...100
    public static let retryDelays = 0.0...86_400.0

    public init(projectId: String = "default", componentId: String, configId: String, configData: JSONValue? = nil, mode: String = "run",
                count: Int = 1, timeoutSeconds: Double? = nil, retries: Int = 0, retryDelaySeconds: Double = 10,
                previousJobId: Int64? = nil, tokenId: Int64? = nil, initializedBy: String = "manual") {
        self.projectId = projectId; self.componentId = componentId; self.configId = configId; self.configData = configData
        self.mode = mode; self.count = count; self.timeoutSeconds = timeoutSeconds; self.retries = retries
        self.retryDelaySeconds = retryDelaySeconds; self.previousJobId = previousJobId; self.tokenId = tokenId
        self.initializedBy = initializedBy
    }

    /// The request as it may be queued; throws a `BatonError` naming the first field at fault
    /// and the fix. (Whether the configuration exists, and whether the parameters fit its
    /// component, the store checks against the database.)
    public func validated() throws -> JobRequest {
        func fail(_ field: String, _ message: String) -> BatonError { BatonError(.invalidInput, message, field: field) }
        guard Identifier.isValidProject(projectId) else { throw fail("project", "project '\(projectId)' \(Identifier.rule(maxLength: Identifier.projectMaxLength))") }
        guard !componentId.isEmpty else { throw fail("component", "component is required (a component id)") }
        guard !configId.isEmpty else { throw fail("config", "config is required (a configuration id of the component)") }
        guard componentId != ExecutorSpec.orchestratorComponentId else {
            throw fail("component", "'\(configId)' is an orchestration: start it with 'baton run \(configId)' or POST /v1/orchestrations/\(configId)/jobs")
        }
        if let configData, configData.objectValue == nil {
            throw fail("configData", "configData must be a JSON object whose top-level keys override the configuration's parameters, e.g. {\"seconds\": 2}")
        }
        guard JobMode(rawValue: mode) != nil else { throw fail("mode", "mode must be \(JobMode.list)") }
        guard Self.counts.contains(count) else { throw fail("count", "count must be from 1 to 100000") }
        if let timeoutSeconds, !(timeoutSeconds > 0) { throw fail("timeoutSeconds", "timeoutSeconds must be a positive number of seconds") }
        guard Self.retryCounts.contains(retries) else { throw fail("retries", "retries must be a whole number from 0 to 100") }
        guard Self.retryDelays.contains(retryDelaySeconds) else { throw fail("retryDelaySeconds", "retryDelaySeconds must be from 0 to 86400 seconds") }
        return self
    }

    /// A request from the API's JSON body (`POST /v1/jobs`, one job): `component`, `config`, and
    /// optionally `configData`, `mode`, `timeoutSeconds`, `retries`, `retryDelaySeconds`.
    /// Unknown fields are refused, so a misspelt one does not silently do nothing.
    public static func parse(_ body: [String: JSONValue], projectId: String) throws -> JobRequest {
        let known: Set<String> = ["component", "config", "configData", "mode", "timeoutSeconds", "retries", "retryDelaySeconds"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw BatonError(.invalidInput, "unknown field '\(unknown)': a job takes \(known.sorted().joined(separator: ", "))", field: unknown)
        }
        func text(_ key: String) throws -> String? {
            guard let value = body[key], value != .null else { return nil }
            guard let text = value.stringValue else { throw BatonError(.invalidInput, "\(key) must be a string", field: key) }
            return text
        }
        func number(_ key: String) throws -> Double? {
            guard let value = body[key], value != .null else { return nil }
            guard let number = value.numberValue else { throw BatonError(.invalidInput, "\(key) must be a number", field: key) }
            return number
        }
        func whole(_ key: String) throws -> Int? {
            guard let number = try number(key) else { return nil }
            guard number == number.rounded(), abs(number) < 1e9 else { throw BatonError(.invalidInput, "\(key) must be a whole number", field: key) }
            return Int(number)
        }
        let configData = body["configData"].flatMap { $0 == .null ? nil : $0 }
        return try JobRequest(projectId: projectId, componentId: text("component") ?? "", configId: text("config") ?? "",
                              configData: configData, mode: text("mode") ?? "run",
                              timeoutSeconds: number("timeoutSeconds"), retries: whole("retries") ?? 0,
                              retryDelaySeconds: number("retryDelaySeconds") ?? 10, initializedBy: "api").validated()
    }
}
