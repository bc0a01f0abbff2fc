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
    @Option(help: "The URL people reach the console at, e.g. https://baton.example.com (default: $BATON_PUBLIC_URL, else each request's own): console forms are taken only from this origin, and https makes the session cookie Secure.")
    var publicUrl: String?
    @Option(help: "Hours a console session lasts.") var sessionHours: Double = 12
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        let logger = db.logger("baton.api", default: .info)
        let url = try db.url()
        try await reportingErrors {
            guard (0...65535).contains(port) else { throw BatonError(.invalidInput, "port must be from 0 to 65535", field: "port") }
            var configuration = API.Configuration()
            configuration.publicURL = publicUrl ?? ProcessInfo.processInfo.environment["BATON_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 }
            configuration.sessionLifetime = sessionHours * 3600
            configuration.metricsToken = MetricsOptions.token()
            configuration = try configuration.validated()
            Hardening.apply()
            let store = try Store(url: url, logger: logger, maxConnections: 10)
            Telemetry.bootstrap()
            let document = (openapi ?? APICommand.findOpenAPI()).flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            if document == nil { logger.warning("openapi.yaml not found: /openapi.yaml will answer 404") }
            let api = API(store: store, logger: logger, openAPI: document, configuration: configuration)
            let app = Application(
                router: api.router(),
                configuration: .init(address: .hostname(host, port: port), serverName: "baton"),
                onServerRunning: { channel in
                    let bound = channel.localAddress?.port ?? port
                    FileHandle.standardOutput.write(Data("listening on http://\(host):\(bound)\nthe console: http://\(host):\(bound)/console (log in with a token: 'baton tokens create --project P --scope read')\n".utf8))
                },
                logger: logger)
            try await runUntilSignalled(app, store: store, logger: logger,
                                        metrics: metrics.service(store: store, logger: logger, beforeScrape: { await api.updateQueueGauges() }))
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
    static let configuration = CommandConfiguration(commandName: "tokens", abstract: "API tokens.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print its secret (shown once; only a hash is kept).")
        @OptionGroup var client: ClientOptions
        @Option(help: "The project the token acts for (through the API: the calling token's project).") var project: String?
        @Option(help: "admin, read (the default, as the API's), or trigger:ORCHESTRATION_ID.") var scope = "read"
        @Option(help: "What the token is for.") var description = ""
        @Option(help: "Email address of the token's owner: runs they start by hand notify only them, of failures and warnings.") var ownerEmail: String?
        @Option(help: "The token answers 401 after this long: seconds, or 90m, 12h, 30d (default: it does not expire).") var expiresIn: String?
        @Flag(help: "Print the token as JSON (with its secret).") var json = false

        func run() async throws {
            let (project, scope, description, ownerEmail) = (self.project, self.scope, self.description, self.ownerEmail)
            let lifetime: Double?
            do { lifetime = try expiresIn.map(Token.parseLifetime) } catch let error as BatonError { throw ValidationError("--expires-in: \(error.message)") }
            let made = try await client.run("baton.cli", direct: { store -> JSONValue in
                guard let project else { throw BatonError(.invalidInput, "--project is required: the project the token acts for", field: "project") }
                let parsed = try TokenScope(parsing: scope)
                let (token, secret) = try await store.createToken(projectId: project, scope: parsed, description: description, ownerEmail: ownerEmail, expiresIn: lifetime)
                guard case .object(var object) = token.json else { return token.json }
                object["secret"] = .string(secret)
                return .object(object)
            }, remote: { api in
                try await api.checkProject(project)
                return try await api.createToken(scope: scope, description: description, ownerEmail: ownerEmail, expiresIn: lifetime)
            })
            if json {
                print(made.jsonText)
            } else {
                let scopeText = made["orchestrationId"]?.stringValue.map { "trigger:\($0)" } ?? made["scope"]?.stringValue ?? scope
                print("token \(made["id"]?.stringValue ?? "?") for project \(made["projectId"]?.stringValue ?? "?"), scope \(scopeText); its secret (shown only now):")
                print(made["secret"]?.stringValue ?? "")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets): scope, description, when made, when they expire, were revoked and were last used.")
        @OptionGroup var client: ClientOptions
        @Option(help: "Only this project's tokens (default: every project's; through the API: the token's project).") var project: String?
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let project = self.project
            let tokens = try await client.run("baton.cli", direct: { store in try await store.tokens(projectId: project).map(\.json) },
                                              remote: { api in try await api.checkProject(project); return try await api.tokens() })
            if json { printJSON(.array(tokens)); return }
            let now = Date()
            printTable(["ID", "PROJECT", "SCOPE", "STATE", "LAST USED", "DESCRIPTION"], tokens.map { token in
                let text = { (key: String) in token[key]?.stringValue }
                let expires = text("expiresTime").flatMap(Job.parseTime)
                let state = text("revokedTime").map { "revoked \($0)" }
                    ?? expires.map { $0 <= now ? "expired \(Job.formatTime($0))" : "expires \(Job.formatTime($0))" } ?? "active"
                return [text("id") ?? "", text("projectId") ?? "", text("orchestrationId").map { "\(text("scope") ?? ""):\($0)" } ?? text("scope") ?? "",
                        state, text("lastUsedTime") ?? "never", text("description") ?? ""]
            })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: it answers 401 at once, and its console sessions end.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The token's id (tokens list shows it).") var id: Int64

        func run() async throws {
            let id = self.id
            let token = try await client.run("baton.cli", direct: { store in try await store.revokeToken(id: id).json }, remote: { api in try await api.revokeToken(id: id) })
            print("revoked token \(token["id"]?.stringValue ?? String(id)) of project \(token["projectId"]?.stringValue ?? "?") (\(token["scope"]?.stringValue ?? "?"))")
        }
    }
}

struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "secrets", abstract: "Keys for secrets (# keys): make one, seal stored secrets again.",
                                                    subcommands: [GenerateKey.self, Reseal.self])

    struct GenerateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "generate-key", abstract: "Print a new key for BATON_SECRET_KEYS: ID:BASE64 (32 random bytes).")
        @Option(help: "The key's id, recorded in every value it seals.") var id = "k\(Int(Date().timeIntervalSince1970))"

        func validate() throws {
            guard Identifier.isValid(id, maxLength: 40) else { throw ValidationError("--id \(Identifier.rule(maxLength: 40))") }
        }

        func run() async throws { print(SecretKeyring.generateKey(id: id)) }
    }

    struct Reseal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal every stored secret again with the first key of BATON_SECRET_KEYS (after adding a new key first); secrets stored before encryption was set up are sealed too.")
        @OptionGroup var db: DatabaseOptions

        func run() async throws {
            let counts = try await db.withStore("baton.secrets") { store in try await store.resealSecrets() }
            print("sealed again: \(counts.components) components, \(counts.configurations) configurations, \(counts.jobs) jobs")
        }
    }
}
