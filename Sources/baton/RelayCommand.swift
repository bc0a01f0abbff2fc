import ArgumentParser
import BatonEngine
import BatonHTTP
import BatonStore
import Foundation

struct RelayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Pass the wake-ups of baton_jobs to workers and coordinators over TCP, so they need no LISTEN connection of their own.",
        discussion: """
            The relay holds one LISTEN connection: give it a direct database URL (or a session-mode \
            pool). Workers and coordinators started with --wakeups HOST:PORT then reach PostgreSQL \
            through PgBouncer in transaction mode. A new job wakes as many idle workers as it needs, \
            not every one. Without the relay, they poll every --poll-seconds until it is back.
            """)

    @OptionGroup var db: DatabaseOptions
    @OptionGroup var metrics: MetricsOptions
    @Option(help: "Address to listen on (0.0.0.0 for every interface).") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port, printed).") var port = 7420
    @Option(help: "Most client connections; more are closed at once.") var maxClients = 20_000

    func run() async throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard maxClients >= 1 else { throw ValidationError("--max-clients must be at least 1") }
        var configuration = Relay.Configuration()
        configuration.host = host
        configuration.port = port
        configuration.maxClients = maxClients
        let logger = db.logger("baton.relay", default: .info)
        let url = try db.url()
        Telemetry.bootstrap()
        Hardening.apply()
        try await reportingErrors {
            // The LISTEN connection, and one for the readiness check.
            let store = try Store(url: url, logger: logger, maxConnections: 2)
            let relay = Relay(store: store, configuration: configuration, logger: logger) { host, port in
                FileHandle.standardOutput.write(Data("relay listening on \(host):\(port)\n".utf8))
            }
            try await runUntilSignalled(relay, store: store, logger: logger, metrics: metrics.service(store: store, logger: logger))
        }
    }
}
