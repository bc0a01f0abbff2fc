import ArgumentParser
import BatonModel
import BatonStore
import Foundation
import Logging

struct DB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "A local PostgreSQL from the installed binaries.",
        subcommands: [Up.self, Down.self])

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start it (initdb on first use) and print DATABASE_URL.")

        @Option(help: "Folder for data, socket and log.")
        var dataDir: String = ".baton/postgres"

        @Option(help: "TCP port on 127.0.0.1 (default: the last one used, else \(LocalPostgres.defaultPort)).")
        var port: Int?

        @Option(help: "Database to create.")
        var database: String = "baton"

        func run() async throws {
            var logger = Logger(label: "baton.db")
            logger.logLevel = .warning
            let server = LocalPostgres(.init(directory: dataDir, port: port, database: database))
            let url = try await reportingErrors { try await server.up(logger: logger) }
            print("DATABASE_URL=\(url)")
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop it.")

        @Option(help: "Folder given to 'db up'.")
        var dataDir: String = ".baton/postgres"

        func run() async throws {
            let server = LocalPostgres(.init(directory: dataDir))
            try await reportingErrors { try server.down() }
            print("stopped PostgreSQL in \(server.directory)")
        }
    }
}
