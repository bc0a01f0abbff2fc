import BatonEngine
import BatonStore
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus

/// Prometheus metrics of this process. `baton` bootstraps swift-metrics with this registry;
/// `/metrics` (the API's, or a worker's or coordinator's `--metrics-port`) writes it out.
public enum Telemetry {
    public static let registry = PrometheusCollectorRegistry()

    /// swift-metrics into Prometheus, with buckets that fit each histogram: claims take
    /// milliseconds, jobs seconds to hours.
    public static func bootstrap() {
        _ = once
    }

    private static let once: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MetricNames.claimDuration] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        factory.durationHistogramBuckets[MetricNames.jobDuration] = [
            .milliseconds(10), .milliseconds(100), .seconds(1), .seconds(5), .seconds(30), .seconds(60), .seconds(300),
            .seconds(900), .seconds(1800), .seconds(3600), .seconds(3 * 3600),
        ]
        MetricsSystem.bootstrap(factory)
    }()

    /// The Prometheus text of every metric recorded in this process.
    public static func response() -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
}

/// The small HTTP endpoint of a worker or coordinator (`--metrics-port`): `/metrics`, `/healthz`
/// (the process runs) and `/readyz` (it reaches the database), for Prometheus and Kubernetes probes.
public struct MetricsEndpoint: Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    public static let routes = ["/metrics", "/healthz", "/readyz"]

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        let store = self.store
        router.get("/healthz") { _, _ in json(.ok, ["status": "ok"]) }
        router.get("/readyz") { _, _ in
            do {
                _ = try await store.projectIds()
                Gauge(label: MetricNames.databaseUp).record(1)
                return json(.ok, ["status": "ready"])
            } catch {
                Gauge(label: MetricNames.databaseUp).record(0)
                return json(.serviceUnavailable, ["error": "the database is unreachable", "code": "unavailable"])
            }
        }
        router.get("/metrics") { _, _ in Telemetry.response() }
        return router
    }
}
