import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `/metrics` of a worker, a coordinator and the API, scraped over HTTP and parsed by
/// prometheus_client's parser: the figures match what the test made happen.
@Suite("metrics on every process")
struct MetricsTests {
    let logger = TestPostgres.shared.logger
    static let metricsToken = "metrics-test-0123456789"

    func metricsURL(_ process: BatonProcess) async throws -> String {
        var found: String?
        try await waitUntil(timeout: 30, "the metrics port") {
            found = process.output.split(separator: "\n").first { $0.hasPrefix("metrics on ") }.map { String($0.dropFirst(11)) }
            return found != nil || !process.process.isRunning
        }
        guard let found else { throw BatonError(.environment, "no metrics port: \(process.output)") }
        return found
    }

    func get(_ url: String) async throws -> (status: Int, text: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
    }

    func scrape(_ url: String) async throws -> [(name: String, labels: [String: String], value: Double)] {
        let (status, text) = try await get(url)
        #expect(status == 200)
        return try TestPython.parsePrometheus(text)
    }

    func value(_ samples: [(name: String, labels: [String: String], value: Double)], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
        return matching.isEmpty ? nil : matching.reduce(0) { $0 + $1.value }
    }

    @Test("worker, coordinator and API expose claims, outcomes, durations, leadership and queue depth")
    func everyProcess() async throws {
        let url = try await TestPostgres.shared.makeDatabase("metrics", applying: """
                - {kind: component, id: ok, executor: {type: noop}}
                - {kind: component, id: broken, executor: {type: fail}}
                - {kind: configuration, component: ok, id: a}
                - {kind: configuration, component: broken, id: b}
                - {kind: configuration, component: ok, id: held}
                """)
        try await Store.withStore(url: url, logger: logger) { store in
        }
        let worker = try BatonProcess(["worker", "--metrics-port", "0", "--components", "ok,broken", "--log-format", "json", "--log-level", "info"], databaseURL: url)
        defer { _ = worker.stop() }
        let coordinator = try BatonProcess(["coordinator", "--metrics-port", "0"], databaseURL: url)
        defer { _ = coordinator.stop() }
        let api = try await LiveAPI(databaseURL: url, environment: ["BATON_METRICS_TOKEN": Self.metricsToken])
        let workerMetrics = try await metricsURL(worker)
        let coordinatorMetrics = try await metricsURL(coordinator)

        try await Store.withStore(url: url, logger: logger) { store in
            let ok = try await store.createJobs(componentId: "ok", configId: "a", count: 12)
            let failed = try await store.createJobs(componentId: "broken", configId: "b", count: 3)
            _ = try await store.waitForFinal((ok + failed).map(\.id))
        }

        // Worker: what it claimed and how each ended.
        try await waitUntil(timeout: 10, "the worker's counters") {
            let samples = try await scrape(workerMetrics)
            return value(samples, "baton_jobs_finished_total", ["component": "ok", "status": "success"]) == 12
                && value(samples, "baton_jobs_finished_total", ["component": "broken", "status": "error"]) == 3
        }
        let samples = try await scrape(workerMetrics)
        #expect(value(samples, "baton_jobs_claimed_total", ["component": "ok"]) == 12)
        #expect(value(samples, "baton_jobs_claimed_total", ["component": "broken"]) == 3)
        #expect(value(samples, "baton_job_duration_seconds_count", ["component": "ok"]) == 12)
        let turns = try #require(value(samples, "baton_claim_duration_seconds_count"))
        #expect(turns >= 1 && value(samples, "baton_claim_duration_seconds_bucket", ["le": "+Inf"]) == turns)
        #expect(try await get(workerMetrics.replacingOccurrences(of: "/metrics", with: "/healthz")).status == 200)
        #expect(try await get(workerMetrics.replacingOccurrences(of: "/metrics", with: "/readyz")).status == 200)
        // --log-format json: every line the worker wrote to stderr is one JSON object.
        let lines = worker.output.split(separator: "\n").filter { $0.hasPrefix("{") }
        #expect(lines.count >= 1 && lines.allSatisfy { (try? JSONValue.parse(String($0)))?["message"] != nil })
        #expect(lines.contains { $0.contains("\"message\":\"worker started\"") })

        // Coordinator: it leads, and reads the queue depth every 5 s; a job of a component no
        // worker takes stays in the queue.
        let queued = try await Store.withStore(url: url, logger: logger) { store in
            _ = try await Apply.apply(try Documents.parse("- {kind: component, id: idle, executor: {type: noop}}\n- {kind: configuration, component: idle, id: c}"), store: store)
            return try await store.createJobs(componentId: "idle", configId: "c", count: 2)
        }
        #expect(queued.count == 2)
        try await waitUntil(timeout: 15, "the coordinator's queue gauge") {
            let samples = try await scrape(coordinatorMetrics)
            return value(samples, "baton_coordinator_leader") == 1 && value(samples, "baton_queue_jobs", ["status": "created"]) == 1
                && value(samples, "baton_queue_jobs", ["status": "waiting", "reason": "configuration-lock"]) == 1
        }

        // API: queue depth at the scrape, the database, and the requests it answered.
        let reply = try await api.call("GET", "/v1/jobs")
        #expect(reply.status == 401)
        let apiSamples = try TestPython.parsePrometheus(try await api.call("GET", "/metrics", token: Self.metricsToken).text)
        #expect(value(apiSamples, "baton_database_up") == 1)
        #expect(value(apiSamples, "baton_queue_jobs", ["project": "default", "status": "created"]) == 1)
        #expect(value(apiSamples, "baton_api_requests_total", ["code": "401"]) == 1)
    }
}
