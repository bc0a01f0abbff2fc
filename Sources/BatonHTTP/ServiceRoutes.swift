import BatonEngine
import BatonModel
import Hummingbird
import Metrics
import NIOCore

// The routes without a token: liveness, readiness, Prometheus metrics and this API's document.

extension API {
    /// Ready when the database answers.
    func ready() async throws -> Response {
        do {
            _ = try await store.projectIds()
        } catch {
            throw BatonError(.unavailable, "the database is unreachable")
        }
        return json(.ok, ["status": "ready"])
    }

    /// The queue depth is read at each scrape; the rest is what this process recorded.
    func metrics() async -> Response {
        do {
            queueGauges.update(try await store.queueDepth())
            Gauge(label: MetricNames.databaseUp).record(1)
        } catch {
            Gauge(label: MetricNames.databaseUp).record(0)
        }
        return Telemetry.response()
    }

    func document() throws -> Response {
        guard let openAPI else {
            throw BatonError(.notFound, "openapi.yaml was not found next to the binary or in the working directory")
        }
        return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: openAPI)))
    }
}
