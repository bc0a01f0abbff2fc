import ArgumentParser
import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Logging
import ServiceLifecycle

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "worker", abstract: "Claim and run jobs until SIGTERM or SIGINT.")

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Jobs run at once.") var concurrency: Int = 4
    @Option(help: "Only these components (comma-separated).") var components: String?
    @Option(help: "Most jobs claimed by one statement (default: as many as --concurrency, every free slot).") var batchSize: Int?
    @Option(help: "Lease of a running job in seconds, renewed by heartbeat every third of it.") var leaseSeconds: Double = 20
    @Option(help: "On SIGTERM, seconds running jobs get to finish before they are stopped.") var drainSeconds: Double = 30
    @Option(help: "Fallback poll interval in seconds when no notification arrives.") var pollSeconds: Double = 2
    @Option(help: "Worker id recorded on the jobs it runs (default host-pid).") var workerId: String?
    @Option(help: "Most database connections of this worker, all from one pool: the LISTEN connection and the claiming session hold one each, the rest carry heartbeats and job output (at least 3).") var maxConnections: Int = 4
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
        if trace { configuration.trace = TraceOutput() }
        let logger = db.logger("baton.worker", default: .info)
        let url = try db.url()
        guard (3...64).contains(maxConnections) else {
            throw ValidationError("--max-connections must be between 3 and 64 (got \(maxConnections)): the LISTEN connection and the claiming session hold one each")
        }
        try await reportingErrors {
            let validated = try configuration.validated()
            let store = try Store(url: url, logger: logger, maxConnections: maxConnections)
            try await runUntilSignalled(Worker(store: store, configuration: validated, logger: logger), store: store, logger: logger)
        }
    }
}

/// Runs `service` beside the database pool in one ServiceGroup until SIGTERM or SIGINT; when the
/// service returns (after its graceful shutdown), the group stops.
func runUntilSignalled(_ service: some Service, store: Store, logger: Logger) async throws {
    let group = ServiceGroup(configuration: .init(
        services: [
            .init(service: PoolService(store: store)),
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger))
    try await group.run()
}

/// The store's connection pool as a service that notes when it has started (`Store.poolStarted`).
struct PoolService: Service {
    let store: Store
    func run() async throws { await store.runPool() }
}
