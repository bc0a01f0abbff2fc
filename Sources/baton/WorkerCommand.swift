import ArgumentParser
import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import CBatonSystem

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
    @Option(help: "Pass this variable of the worker's environment on to process jobs (repeat, or comma-separated). Jobs get PATH, LANG, LC_ALL and TZ, their component's environment and the BATON_ variables, never the rest of the worker's environment.")
    var passEnv: [String] = []
    @Option(help: "Run process jobs as this Unix user: USER for every project, PROJECT=USER for one (repeat). Needs a worker running as root.")
    var jobUser: [String] = []
    @Option(help: "A database sql jobs may reach: NAME=ENV_VAR, the variable of this worker's environment holding its URL (repeat). sql components name it with 'target: NAME' (or 'databaseUrlEnv: ENV_VAR'). Default: none.")
    var sqlTarget: [String] = []
    @Flag(help: "Let sql components bring their own database URL (databaseUrl, #databaseUrl); its host must pass the outbound policy. Default: only --sql-target.")
    var sqlAllowUrl = false
    @OptionGroup var outbound: OutboundOptions

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
        do {
            configuration.execution.passEnvironment += passEnv.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
            configuration.execution.jobUsers = try ExecutionPolicy.parseJobUsers(jobUser)
            configuration.execution.sqlTargets = try ExecutionPolicy.parseSQLTargets(sqlTarget)
            configuration.execution.allowSQLURLs = sqlAllowUrl
            configuration.execution.outbound = try outbound.policy()
            configuration.execution.secrets = try SecretKeyring.fromEnvironment()
        } catch let error as BatonError {
            throw ValidationError(error.message)
        }
        let logger = db.logger("baton.worker", default: .info)
        let url = try db.url()
        Telemetry.bootstrap() // before the worker makes its metrics
        guard (3...64).contains(maxConnections) else {
            throw ValidationError("--max-connections must be between 3 and 64 (got \(maxConnections)): the LISTEN connection and the claiming session hold one each")
        }
        Hardening.apply()
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

    /// The metrics endpoint as a service, or nil without `--metrics-port`. Bootstraps metrics
    /// either way. `/metrics` asks for `BATON_METRICS_TOKEN` when it is set.
    func service(store: Store, logger: Logger, beforeScrape: (@Sendable () async -> Void)? = nil) -> (any Service)? {
        Telemetry.bootstrap()
        guard let port = metricsPort else { return nil }
        let host = metricsHost
        return Application(
            router: MetricsEndpoint(store: store, token: MetricsOptions.token(), beforeScrape: beforeScrape).router(),
            configuration: .init(address: .hostname(host, port: port), serverName: "baton-metrics"),
            onServerRunning: { channel in
                FileHandle.standardOutput.write(Data("metrics on http://\(host):\(channel.localAddress?.port ?? port)/metrics\n".utf8))
            },
            logger: logger)
    }
}

extension MetricsOptions {
    /// `BATON_METRICS_TOKEN`: the bearer token `/metrics` asks for; nil when unset.
    static func token() -> String? {
        ProcessInfo.processInfo.environment["BATON_METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// `--outbound-allow` of the worker (http jobs, sql components' own URLs) and the coordinator (webhooks).
struct OutboundOptions: ParsableArguments {
    @Option(help: "Allow outbound requests to this host (api.internal, *.corp.example) or network (10.0.0.0/8, 127.0.0.1) beyond public addresses (repeat, or comma-separated; default: $BATON_OUTBOUND_ALLOW). Loopback, private, link-local and metadata addresses are refused otherwise.")
    var outboundAllow: [String] = []

    func policy() throws -> OutboundPolicy {
        var entries = outboundAllow
        if entries.isEmpty, let env = ProcessInfo.processInfo.environment["BATON_OUTBOUND_ALLOW"] { entries = [env] }
        return try OutboundPolicy(allowing: entries.flatMap { $0.split(separator: ",").map(String.init) })
    }
}

/// What a long-running baton process does first to keep its secrets from the jobs on its machine.
enum Hardening {
    /// Not dumpable: another process of the same user (a job, when jobs run as the worker's user)
    /// can no longer read this one's /proc/PID/environ or memory, nor ptrace it. A job run as
    /// root (a worker as root without --job-user) still can: see the README's security notes.
    static func apply() {
        _ = baton_set_not_dumpable()
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
