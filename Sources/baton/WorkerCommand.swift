import ArgumentParser
import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Claim and run jobs until SIGTERM or SIGINT.")

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var metrics: MetricsOptions
    @Option(help: "Jobs run at once.") var concurrency: Int = 4
    @Option(help: "Only these components (comma-separated).") var components: String?
    @Option(help: "Most jobs claimed by one statement (default: as many as --concurrency, every free slot).") var batchSize: Int?
    @Option(help: "Lease of a running job in seconds, renewed every quarter of it; a job not renewed for two thirds of it stops itself.") var leaseSeconds: Double = 20
    @Option(help: "On SIGTERM, seconds running jobs get to finish before they are stopped.") var drainSeconds: Double = 30
    @Option(help: "Fallback poll interval in seconds when no notification arrives.") var pollSeconds: Double = 2
    @Option(help: "Worker id recorded on the jobs it runs (default host-pid).") var workerId: String?
    @Option(help: "Most database connections of this worker, all from one pool: the LISTEN connection and the claiming session hold one each, the rest carry heartbeats and job output (at least 3).") var maxConnections: Int = 4
    @OptionGroup var wakeups: WakeupOptions
    @Flag(help: "Benchmark trace on stdout: 'S JOB UNIXTIME' when a job starts, 'T MS CLAIMED' per claiming turn.") var trace = false

    func run() async throws {
        var configuration = Worker.Configuration()
        configuration.concurrency = concurrency
        configuration.batchSize = batchSize
        configuration.leaseSeconds = leaseSeconds
        configuration.drainSeconds = drainSeconds
        configuration.pollInterval = .milliseconds(Int(pollSeconds * 1000))
        configuration.components = components.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let workerId { configuration.workerId = workerId }
        configuration.wakeups = try wakeups.parsed()
        if trace { configuration.trace = TraceOutput() }
        let logger = db.logger("baton.worker", default: .info)
        let url = try db.url()
        Telemetry.bootstrap() // before the worker makes its metrics
        guard (3...64).contains(maxConnections) else {
            throw ValidationError("--max-connections must be between 3 and 64 (got \(maxConnections)): the LISTEN connection and the claiming session hold one each")
        }
        try await reportingErrors {
            let validated = try configuration.validated()
            let store = try Store(url: url, logger: logger, maxConnections: maxConnections)
            try await runUntilSignalled(Worker(store: store, configuration: validated, logger: logger), store: store, logger: logger,
                                        metrics: metrics.service(store: store, logger: logger))
        }
    }
}

/// `--metrics-port` of the worker and coordinator.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Serve /metrics (Prometheus), /healthz and /readyz on this port (0: any free port, printed; default: none).")
    var metricsPort: Int?

    @Option(help: "Address the metrics port listens on.")
    var metricsHost = "127.0.0.1"

    func validate() throws {
        if let metricsPort, !(0...65535).contains(metricsPort) { throw ValidationError("--metrics-port must be from 0 to 65535") }
    }

    /// The metrics endpoint as a service, or nil without `--metrics-port`. Bootstraps metrics either way.
    func service(store: Store, logger: Logger) -> (any Service)? {
        Telemetry.bootstrap()
        guard let port = metricsPort else { return nil }
        let host = metricsHost
        return Application(
            router: MetricsEndpoint(store: store).router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "baton-metrics"),
            onServerRunning: { channel in
                FileHandle.standardOutput.write(Data("metrics on http://\(host):\(channel.localAddress?.port ?? port)/metrics\n".utf8))
            },
            logger: logger)
    }
}

/// How a worker or coordinator hears of jobs.
struct WakeupOptions: ParsableArguments {
    @Option(name: .customLong("wakeups"), help: ArgumentHelp(
        "listen (LISTEN on a connection of its own: a direct one or a session-mode pool), HOST:PORT of a 'baton relay' (no session state: works through PgBouncer in transaction mode), or poll (only the fallback poll) (default: $BATON_WAKEUPS or listen).",
        valueName: "listen|HOST:PORT|poll"))
    var text: String?

    func parsed() throws -> Wakeups {
        let value = text ?? ProcessInfo.processInfo.environment["BATON_WAKEUPS"].flatMap { $0.isEmpty ? nil : $0 } ?? "listen"
        do { return try Wakeups.parse(value) } catch let error as BatonError { throw ValidationError("--wakeups: \(error.message)") }
    }
}

/// Runs `service` beside the database pool (and the metrics endpoint, if any, and the services
/// `beside` it: a coordinator's chores) in one ServiceGroup until SIGTERM or SIGINT; when the
/// service returns (after its graceful shutdown), the group stops.
func runUntilSignalled(_ service: some Service, store: Store, logger: Logger, metrics: (any Service)? = nil,
                       beside: [any Service] = []) async throws {
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: PoolService(store: store)),
        .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup),
    ]
    if let metrics { services.append(.init(service: metrics)) }
    services += beside.map { .init(service: $0) }
    let group = ServiceGroup(configuration: .init(
        services: services,
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    try await group.run()
}

/// The store's connection pool as a service that notes when it has started (`Store.poolStarted`).
struct PoolService: Service {
    let store: Store
    func run() async throws { await store.runPool() }
}
