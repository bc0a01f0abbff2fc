import ArgumentParser
import BatonEngine
import BatonHTTP
import BatonModel
import BatonStore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api", abstract: "Serve the HTTP API until SIGTERM or SIGINT.")

    @OptionGroup var db: DatabaseOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port; the one taken is printed).") var port = 8420
    @Option(help: "openapi.yaml to serve at /openapi.yaml (default: found next to the binary or in the working directory).") var openapi: String?

    func run() async throws {
        let logger = db.logger("baton.api", default: .info)
        let url = try db.url()
        try await reportingErrors {
            guard (0...65535).contains(port) else { throw BatonError(.invalidInput, "port must be from 0 to 65535", field: "port") }
            let store = try Store(url: url, logger: logger, maxConnections: 10)
            Telemetry.bootstrap()
            let document = (openapi ?? APICommand.findOpenAPI()).flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            if document == nil { logger.warning("openapi.yaml not found: /openapi.yaml will answer 404") }
            let api = API(store: store, logger: logger, openAPI: document)
            let app = Application(
                router: api.router(),
                configuration: .init(address: .hostname(host, port: port), serverName: "baton"),
                onServerRunning: { channel in
                    let bound = channel.localAddress?.port ?? port
                    FileHandle.standardOutput.write(Data("listening on http://\(host):\(bound)\n".utf8))
                },
                logger: logger)
            try await runUntilSignalled(app, store: store, logger: logger)
        }
    }

    /// openapi.yaml in the working directory or a parent, or next to the binary or a parent (a checkout).
    static func findOpenAPI() -> String? {
        var starts = [FileManager.default.currentDirectoryPath]
        starts.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path)
        for start in starts {
            var dir = URL(fileURLWithPath: start)
            for _ in 0..<8 {
                let candidate = dir.appendingPathComponent("openapi.yaml").path
                if FileManager.default.fileExists(atPath: candidate) { return candidate }
                dir.deleteLastPathComponent()
            }
        }
        return nil
    }
}

struct Projects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "projects", abstract: "Projects (tenants).", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a project.")
        @OptionGroup var db: DatabaseOptions
        @Argument(help: "Project id (letters, digits, '.', '_', '-').") var id: String
        @Option(help: "Human-readable name (default: the id).") var name: String?
        @Option(help: "Most jobs of the project running at once.") var maxParallelJobs = 10

        func run() async throws {
            let logger = db.logger("baton.cli", default: .warning)
            try await reportingErrors {
                try await Store.withStore(url: try db.url(), logger: logger) { store in
                    try await store.createProject(id: id, name: name, maxParallelJobs: maxParallelJobs)
                }
                print("created project \(id)")
            }
        }
    }
}

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tokens", abstract: "API tokens.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print its secret (shown once; only a hash is kept).")
        @OptionGroup var db: DatabaseOptions
        @Option(help: "The project the token acts for.") var project: String
        @Option(help: "admin, read, or trigger:ORCHESTRATION_ID.") var scope = "admin"
        @Option(help: "What the token is for.") var description = ""
        @Option(help: "Email address of the token's owner: runs they start by hand notify only them, of failures and warnings.") var ownerEmail: String?
        @Flag(help: "Print the token as JSON (with its secret).") var json = false

        func run() async throws {
            let logger = db.logger("baton.cli", default: .warning)
            try await reportingErrors {
                let parsed = try TokenScope(parsing: scope)
                let (token, secret) = try await Store.withStore(url: try db.url(), logger: logger) { store in
                    try await store.createToken(projectId: project, scope: parsed, description: description, ownerEmail: ownerEmail)
                }
                if json {
                    guard case .object(var object) = token.json else { return }
                    object["secret"] = .string(secret)
                    print(JSONValue.object(object).jsonText)
                } else {
                    print("token \(token.id) for project \(token.projectId), scope \(token.scope); its secret (shown only now):")
                    print(secret)
                }
            }
        }
    }
}
