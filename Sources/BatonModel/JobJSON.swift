import Foundation

// A job and an event read back from their JSON form (the API's answers), so a client of the API
// prints them as the CLI prints rows of the database. `Job(json: job.json)` gives the job back,
// except what the JSON never shows (the executor, unmasked secrets).

extension Job {
    /// Parses the JSON the API answers for a job (`Job.json`, Keboola's names).
    public init(json: JSONValue) throws {
        guard case .object(let object) = json else {
            throw BatonError(.invalidInput, "a job must be a JSON object, got \(json.typeName)", field: "job")
        }
        func text(_ key: String) -> String? { object[key]?.stringValue }
        func required(_ key: String) throws -> String {
            guard let value = text(key) else { throw BatonError(.invalidInput, "a job needs '\(key)'", field: key) }
            return value
        }
        func int(_ key: String) -> Int64? { object[key]?.idValue.flatMap { Int64($0) } }
        func time(_ key: String) -> Date? { text(key).flatMap(Job.parseTime) }
        guard let id = int("id") else { throw BatonError(.invalidInput, "a job needs a numeric 'id'", field: "id") }
        guard let status = JobStatus(rawValue: try required("status")) else {
            throw BatonError(.invalidInput, "unknown job status '\(text("status") ?? "")'", field: "status")
        }
        guard let created = time("createdTime") else { throw BatonError(.invalidInput, "a job needs 'createdTime'", field: "createdTime") }
        self.init(
            id: id, runId: text("runId") ?? String(id), parentRunId: text("parentRunId"),
            projectId: object["project"]?["id"]?.stringValue ?? "default", status: status,
            desiredStatus: text("desiredStatus").flatMap(DesiredStatus.init(rawValue:)) ?? .processing,
            componentId: try required("component"), configId: try required("config"), mode: text("mode") ?? "run",
            type: text("type") ?? "standard", configData: object["configData"].flatMap { $0 == .null ? nil : $0 },
            parameters: object["parameters"] ?? [:], executor: .null, createdTime: created, startTime: time("startTime"),
            endTime: time("endTime"), durationSeconds: object["durationSeconds"]?.numberValue,
            result: object["result"].flatMap { $0 == .null ? nil : $0 },
            waitingReason: text("waitingReason").flatMap(WaitingReason.init(rawValue:)), workerId: text("workerId"),
            attempt: Int(object["attempt"]?.numberValue ?? 0), orchestrationJobId: int("orchestrationJobId"),
            orchestrationTaskId: text("orchestrationTaskId"), orchestrationPhaseId: text("orchestrationPhaseId"),
            onlyOrchestrationTaskIds: object["onlyOrchestrationTaskIds"]?.arrayValue?.compactMap(\.stringValue),
            previousJobId: int("previousJobId"))
        timeoutSeconds = object["timeoutSeconds"]?.numberValue
        retries = Int(object["retries"]?.numberValue ?? 0)
        delayedStartTime = time("delayedStartTime")
        initializedBy = text("initializedBy") ?? "manual"
        tokenId = object["token"]?["id"]?.idValue.flatMap { Int64($0) }
        actingTokenId = object["actingToken"]?["id"]?.idValue.flatMap { Int64($0) }
    }

    /// The inverse of `formatTime` (ISO 8601, with or without fractional seconds).
    public static func parseTime(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: Date.ISO8601FormatStyle()))
    }
}

extension JobEvent {
    /// Parses the JSON the API answers for an event (`JobEvent.json`).
    public init(json: JSONValue) throws {
        guard let id = json["id"]?.idValue.flatMap({ Int64($0) }), let jobId = json["jobId"]?.idValue.flatMap({ Int64($0) }),
              let time = json["time"]?.stringValue.flatMap(Job.parseTime), let stream = json["stream"]?.stringValue.flatMap(EventStream.init(rawValue:)),
              let message = json["message"]?.stringValue else {
            throw BatonError(.invalidInput, "an event needs id, jobId, time, stream and message", field: "event")
        }
        self.init(id: id, jobId: jobId, time: time, stream: stream, message: message)
    }
}
