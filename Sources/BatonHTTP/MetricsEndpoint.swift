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
///
/// With a token (`BATON_METRICS_TOKEN`), `/metrics` answers only `Authorization: Bearer TOKEN`: it
/// names projects and components. `/healthz` and `/readyz` never ask for one (probes carry none).
public struct MetricsEndpoint: Sendable {
    let store: Store
    let token: String?
    let beforeScrape: (@Sendable () async -> Void)?

    public init(store: Store, token: String? = nil, beforeScrape: (@Sendable () async -> Void)? = nil) {
        self.store = store
        self.token = token
        self.beforeScrape = beforeScrape
    }

    /// Whether `request` carries the metrics token (always true without one).
    static func authorized(_ request: Request, token: String?) -> Bool {
        guard let token else { return true }
        guard let header = request.headers[.authorization] else { return false }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        // Constant time: the comparison does not stop at the first wrong byte.
        let given = Array(parts[1].utf8), wanted = Array(token.utf8)
        var difference = given.count ^ wanted.count
        for (i, byte) in wanted.enumerated() { difference |= Int(byte ^ (i < given.count ? given[i] : 0)) }
        return difference == 0
    }

    static func refused() -> Response {
        var response = json(.unauthorized, ["error": "/metrics needs the metrics token: Authorization: Bearer $BATON_METRICS_TOKEN", "code": "unauthorized"])
        response.headers[.wwwAuthenticate] = "Bearer realm=\"metrics\""
        return response
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
        let token = self.token, beforeScrape = self.beforeScrape
        router.get("/metrics") { request, _ in
            guard Self.authorized(request, token: token) else { return Self.refused() }
            await beforeScrape?()
            return Telemetry.response()
        }
        return router
    }
}
