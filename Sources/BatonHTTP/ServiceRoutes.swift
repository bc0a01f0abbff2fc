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

    /// The queue depth is read at each scrape; the rest is what this process recorded. It names
    /// every project, so it answers only the metrics token (`BATON_METRICS_TOKEN`), never a
    /// project's token; without one configured, use `baton api --metrics-port`.
    func metrics(_ request: Request) async throws -> Response {
        guard let token = configuration.metricsToken else {
            throw BatonError(.unauthorized, "the API's /metrics needs a metrics token: start baton api with BATON_METRICS_TOKEN set, or serve metrics on a port of their own (--metrics-port)", field: "Authorization")
        }
        guard MetricsEndpoint.authorized(request, token: token) else {
            throw BatonError(.unauthorized, "/metrics needs the metrics token: Authorization: Bearer $BATON_METRICS_TOKEN", field: "Authorization")
        }
        await updateQueueGauges()
        return Telemetry.response()
    }

    /// Reads the queue depth into its gauges (each scrape of the API's metrics, on either port).
    public func updateQueueGauges() async {
        do {
            queueGauges.update(try await store.queueDepth())
            Gauge(label: MetricNames.databaseUp).record(1)
        } catch {
            Gauge(label: MetricNames.databaseUp).record(0)
        }
    }

    func document() throws -> Response {
        guard let openAPI else {
            throw BatonError(.notFound, "openapi.yaml was not found next to the binary or in the working directory")
        }
        return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: openAPI)))
    }
}
