import Foundation

/// One execution, with Keboola's field names in its JSON form.
public struct Job: Sendable, Hashable {
    public var id: Int64
    public var runId: String
    public var parentRunId: String?
    public var projectId: String
    public var status: JobStatus
    public var desiredStatus: DesiredStatus
    public var componentId: String
    public var configId: String
    public var mode: String
    public var type: String
    public var configData: JSONValue?
    public var parameters: JSONValue
    public var executor: JSONValue
    public var createdTime: Date
    public var startTime: Date?
    public var endTime: Date?
    public var durationSeconds: Double?
    public var result: JSONValue?
    public var waitingReason: WaitingReason?
    public var workerId: String?
    public var attempt: Int
    public var orchestrationJobId: Int64? = nil
    public var orchestrationTaskId: String? = nil
    public var orchestrationPhaseId: String? = nil
    public var onlyOrchestrationTaskIds: [String]? = nil
    public var previousJobId: Int64? = nil
    /// Stop the job once it has been processing this long; it then ends error (timeout).
    public var timeoutSeconds: Double? = nil
    /// Automatic retries left to a failed attempt while `attempt <= retries`.
    public var retries: Int = 0
    public var delayedStartTime: Date? = nil
    /// What started the job: manual (CLI or console), schedule, or api.
    public var initializedBy: String = "manual"
    /// The token that created the job (an API call); nil from the CLI or the coordinator.
    public var tokenId: Int64? = nil
    /// The token the job acts as: an orchestration run and its tasks act as the orchestration's own token.
    public var actingTokenId: Int64? = nil

    /// An orchestration run: the coordinator runs it, not a worker.
    public var isOrchestration: Bool { type == Job.orchestrationType }
    public static let orchestrationType = "orchestrationContainer"

    public init(
        id: Int64, runId: String, parentRunId: String? = nil, projectId: String = "default",
        status: JobStatus, desiredStatus: DesiredStatus = .processing, componentId: String, configId: String,
        mode: String = "run", type: String = "standard", configData: JSONValue? = nil, parameters: JSONValue = [:],
        executor: JSONValue = ["type": "noop"], createdTime: Date, startTime: Date? = nil, endTime: Date? = nil,
        durationSeconds: Double? = nil, result: JSONValue? = nil, waitingReason: WaitingReason? = nil,
        workerId: String? = nil, attempt: Int = 0, orchestrationJobId: Int64? = nil, orchestrationTaskId: String? = nil,
        orchestrationPhaseId: String? = nil, onlyOrchestrationTaskIds: [String]? = nil, previousJobId: Int64? = nil
    ) {
        self.id = id; self.runId = runId; self.parentRunId = parentRunId; self.projectId = projectId
        self.status = status; self.desiredStatus = desiredStatus; self.componentId = componentId
        self.configId = configId; self.mode = mode; self.type = type; self.configData = configData
        self.parameters = parameters; self.executor = executor; self.createdTime = createdTime
        self.startTime = startTime; self.endTime = endTime; self.durationSeconds = durationSeconds
        self.result = result; self.waitingReason = waitingReason; self.workerId = workerId; self.attempt = attempt
        self.orchestrationJobId = orchestrationJobId; self.orchestrationTaskId = orchestrationTaskId
        self.orchestrationPhaseId = orchestrationPhaseId; self.onlyOrchestrationTaskIds = onlyOrchestrationTaskIds
        self.previousJobId = previousJobId
    }

    /// The job as the API and `--json` print it (Keboola's names; ids as strings).
    public var json: JSONValue {
        func time(_ date: Date?) -> JSONValue { date.map { .string(Job.formatTime($0)) } ?? .null }
        return .object([
            "id": .string(String(id)),
            "runId": .string(runId),
            "parentRunId": parentRunId.map { .string($0) } ?? .null,
            "project": ["id": .string(projectId)],
            "status": .string(status.rawValue),
            "desiredStatus": .string(desiredStatus.rawValue),
            "isFinished": .bool(status.isFinal),
            "component": .string(componentId),
            "config": .string(configId),
            "mode": .string(mode),
            "type": .string(type),
            "configData": configData.map(Secrets.masked) ?? .null,
            "parameters": Secrets.masked(parameters),
            "createdTime": time(createdTime),
            "startTime": time(startTime),
            "endTime": time(endTime),
            "durationSeconds": durationSeconds.map { .number($0) } ?? .null,
            "result": result ?? .null,
            "waitingReason": waitingReason.map { .string($0.rawValue) } ?? .null,
            "workerId": workerId.map { .string($0) } ?? .null,
            "attempt": .number(Double(attempt)),
            "orchestrationJobId": orchestrationJobId.map { .string(String($0)) } ?? .null,
            "orchestrationTaskId": orchestrationTaskId.map { .string($0) } ?? .null,
            "orchestrationPhaseId": orchestrationPhaseId.map { .string($0) } ?? .null,
            "onlyOrchestrationTaskIds": onlyOrchestrationTaskIds.map { .array($0.map { .string($0) }) } ?? .null,
            "previousJobId": previousJobId.map { .string(String($0)) } ?? .null,
            "timeoutSeconds": timeoutSeconds.map { .number($0) } ?? .null,
            "retries": .number(Double(retries)),
            "delayedStartTime": delayedStartTime.map { .string(Job.formatTime($0)) } ?? .null,
            "initializedBy": .string(initializedBy),
            "token": tokenId.map { ["id": .string(String($0))] } ?? .null,
            "actingToken": actingTokenId.map { ["id": .string(String($0))] } ?? .null,
        ])
    }

    /// ISO 8601 with milliseconds, UTC.
    public static func formatTime(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// One line a job said.
public struct JobEvent: Sendable, Hashable {
    public var id: Int64
    public var jobId: Int64
    public var time: Date
    public var stream: EventStream
    public var message: String

    public init(id: Int64, jobId: Int64, time: Date, stream: EventStream, message: String) {
        self.id = id; self.jobId = jobId; self.time = time; self.stream = stream; self.message = message
    }

    public var json: JSONValue {
        ["id": .string(String(id)), "jobId": .string(String(jobId)), "time": .string(Job.formatTime(time)),
         "stream": .string(stream.rawValue), "message": .string(message)]
    }
}
