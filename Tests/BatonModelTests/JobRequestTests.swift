import BatonModel
import Testing

@Suite("one job request: the checks the CLI, the API and the store share")
struct JobRequestTests {
    func field(_ request: JobRequest) -> String? {
        do { _ = try request.validated(); return nil } catch let error as BatonError { return error.field } catch { return "?" }
    }

    @Test("each bad field is named")
    func badFields() {
        #expect(field(JobRequest(componentId: "c", configId: "x")) == nil)
        #expect(field(JobRequest(projectId: String(repeating: "p", count: 101), componentId: "c", configId: "x")) == "project")
        #expect(field(JobRequest(componentId: "", configId: "x")) == "component")
        #expect(field(JobRequest(componentId: "keboola.orchestrator", configId: "nightly")) == "component")
        #expect(field(JobRequest(componentId: "c", configId: "x", configData: [1, 2])) == "configData")
        #expect(field(JobRequest(componentId: "c", configId: "x", mode: "fast")) == "mode")
        #expect(field(JobRequest(componentId: "c", configId: "x", count: 0)) == "count")
        #expect(field(JobRequest(componentId: "c", configId: "x", timeoutSeconds: 0)) == "timeoutSeconds")
        #expect(field(JobRequest(componentId: "c", configId: "x", retries: 101)) == "retries")
        #expect(field(JobRequest(componentId: "c", configId: "x", retryDelaySeconds: -1)) == "retryDelaySeconds")
    }

    @Test("the API's body: Keboola's names, unknown fields refused, types checked")
    func parse() throws {
        let request = try JobRequest.parse(["component": "c", "config": "x", "configData": ["a": 1], "mode": "debug", "retries": 2, "timeoutSeconds": 30], projectId: "p")
        #expect(request.projectId == "p" && request.mode == "debug" && request.retries == 2 && request.timeoutSeconds == 30 && request.initializedBy == "api")
        #expect(throws: BatonError.self) { try JobRequest.parse(["component": "c", "config": "x", "parameters": [:]], projectId: "p") }
        #expect(throws: BatonError.self) { try JobRequest.parse(["component": "c", "config": "x", "retries": .number(1.5)], projectId: "p") }
        #expect(throws: BatonError.self) { try JobRequest.parse(["component": 3, "config": "x"], projectId: "p") }
        #expect(Identifier.isValidProject("acme-2") && !Identifier.isValidProject("-acme") && Identifier.isValid(String(repeating: "c", count: 200)))
    }
}
