import BatonModel
import Foundation
import Testing

@Suite("a job read back from the API's JSON")
struct JobJSONTests {
    @Test("Job(json: job.json) gives the job back, but the executor, which the JSON never shows")
    func roundTrip() throws {
        var job = Job(id: 44, runId: "40.44", parentRunId: "40", projectId: "acme", status: .error, desiredStatus: .terminating,
                      componentId: "extract", configId: "orders", mode: "forceRun", configData: ["since": "2026-01-01"],
                      parameters: ["table": "orders", "#key": "BATON::ENC::k1::abc"], executor: .null,
                      createdTime: Date(timeIntervalSince1970: 1_700_000_000.125), startTime: Date(timeIntervalSince1970: 1_700_000_001.5),
                      endTime: Date(timeIntervalSince1970: 1_700_000_003.25), durationSeconds: 1.75, result: ["message": "exit 2"],
                      waitingReason: nil, workerId: "w-1", attempt: 2, orchestrationJobId: 40, orchestrationTaskId: "orders",
                      orchestrationPhaseId: "extract", onlyOrchestrationTaskIds: nil, previousJobId: 30)
        job.timeoutSeconds = 60
        job.retries = 3
        job.initializedBy = "api"
        job.tokenId = 7
        job.actingTokenId = 8
        #expect(try Job(json: job.json) == job)
        var waiting = Job(id: 1, runId: "1", status: .waiting, componentId: "c", configId: "x", createdTime: Date(timeIntervalSince1970: 0), waitingReason: .paused)
        waiting.executor = .null
        #expect(try Job(json: waiting.json) == waiting)
    }

    @Test("an answer that is not a job is refused, naming the field")
    func refused() {
        #expect(throws: BatonError.self) { try Job(json: ["id": "x", "status": "error"]) }
        do { _ = try Job(json: ["id": "1", "status": "lost", "component": "c", "config": "x", "createdTime": "2026-01-01T00:00:00.000Z"]) } catch let error as BatonError {
            #expect(error.field == "status")
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("an event reads back from its JSON")
    func event() throws {
        let event = JobEvent(id: 9, jobId: 4, time: Date(timeIntervalSince1970: 1_700_000_000.5), stream: .stderr, message: "boom")
        #expect(try JobEvent(json: event.json) == event)
    }
}
