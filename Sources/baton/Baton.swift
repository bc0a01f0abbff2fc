import ArgumentParser
import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Logging
import Synchronization

@main
struct Baton: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baton",
        abstract: "A PostgreSQL-backed orchestrator and job queue.",
        version: batonVersion,
        subcommands: [DB.self, Migrate.self, Apply.self, RunCommand.self, PlanCommand.self, Jobs.self, OrchestrationsCommand.self, ComponentsCommand.self, ConfigurationsCommand.self, PauseCommand.self, ResumeCommand.self, PausesCommand.self, WorkerCommand.self, CoordinatorCommand.self, RelayCommand.self, APICommand.self, Projects.self, Tokens.self, SecretsCommand.self, SchedulesCommand.self, NotificationsCommand.self]
    )
}

/// Options every database command takes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (default: $DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level?

    @Option(help: "Log lines as text (default) or json, one object per line (default: $BATON_LOG_FORMAT or text).")
    var logFormat: LogFormat?

    func url() throws -> String {
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty { return env }
        if let api = ProcessInfo.processInfo.environment["BATON_API_URL"], !api.isEmpty {
            throw ValidationError("no database: pass --database-url or set DATABASE_URL. BATON_API_URL is set, but this command has no API operation: it needs the database (the operator's access)")
        }
        throw ValidationError("no database: pass --database-url or set DATABASE_URL ('baton db up' starts a local PostgreSQL and prints one)")
    }

    func logger(_ label: String, default level: Logger.Level = .warning) -> Logger {
        Logging.bootstrapOnce(format: logFormat ?? ProcessInfo.processInfo.environment["BATON_LOG_FORMAT"].flatMap(LogFormat.init(rawValue:)) ?? .text)
        var logger = Logger(label: label)
        logger.logLevel = logLevel ?? ProcessInfo.processInfo.environment["BATON_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? level
        return logger
    }

    /// Runs `body` with a store, turning errors into messages and exit codes.
    func withStore<T: Sendable>(_ label: String, _ body: @Sendable (Store) async throws -> T) async throws -> T {
        let url = try url()
        let logger = logger(label)
        return try await reportingErrors {
            try await Store.withStore(url: url, logger: logger, body)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

enum Logging {
    private static let done = Mutex<Bool>(false)
    /// Logs go to stderr, one line per event: swift-log's text lines, or JSON objects.
    static func bootstrapOnce(format: LogFormat) {
        guard done.withLock({ done in defer { done = true }; return !done }) else { return }
        switch format {
        case .text: LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        case .json: LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        }
    }
}

/// Prints a `BatonError` (and its details) to stderr and exits non-zero.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as BatonError {
        throw exitReporting(error)
    }
}

/// Prints a `BatonError` to stderr and returns the exit code `reportingErrors` gives it.
func exitReporting(_ error: BatonError) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
    return ExitCode(error.code == .invalidInput || error.code == .notFound || error.code == .conflict ? 2 : 1)
}

func printJSON(_ value: JSONValue) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("null".utf8)
    print(String(decoding: data, as: UTF8.self))
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations from sql/, then the files of sql/functions/ that changed.")

    @OptionGroup var db: DatabaseOptions

    @Option(help: "Folder of the numbered migrations and functions/ (default: the project's sql/, or $BATON_SQL_DIR).")
    var sqlDir: String?

    func run() async throws {
        let directory = sqlDir
        let applied = try await db.withStore("baton.migrate") { store in
            let migrator = try Migrator(directory: directory ?? Migrator.defaultDirectory())
            return try await migrator.migrate(store) { print($0) }
        }
        let functions = applied.filter { $0.hasPrefix("functions/") }.count
        let migrations = applied.count - functions
        print(applied.isEmpty ? "schema is up to date"
              : "applied \(migrations) migration\(migrations == 1 ? "" : "s") and \(functions) function file\(functions == 1 ? "" : "s")")
    }
}
