import BatonModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `baton` command run as a real process, as a person or a deployment would run it.
public final class BatonProcess: @unchecked Sendable {
    public let process: Process
    public let logPath: String
    /// Whether the harness gave it its database's relay in `BATON_WAKEUPS` (the pooled run).
    public private(set) var relayed = false

    /// The `baton` executable built next to the test runner (`swift build` builds it).
    public static func executable() throws -> String {
        if let env = ProcessInfo.processInfo.environment["BATON_BIN"], !env.isEmpty { return env }
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: runner).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("baton").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw BatonError(.environment, "the baton executable was not found next to the test runner (\(runner)): run 'swift build' before 'swift test', or set BATON_BIN")
    }

    /// Starts `baton ARGS...` with `DATABASE_URL` set (nil: unset, as on a machine that has only
    /// the API's address and a token); its output goes to a log file. When the tests go through a
    /// pooler, a worker or coordinator hears of jobs from its database's relay (`BATON_WAKEUPS`)
    /// unless told otherwise: it cannot LISTEN through PgBouncer.
    public init(_ arguments: [String], databaseURL: String?, environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.executable())
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["DATABASE_URL"] = databaseURL
        for key in ["BATON_API_URL", "BATON_TOKEN"] { env.removeValue(forKey: key) }
        if ["worker", "coordinator"].contains(arguments.first), !arguments.contains(where: { $0 == "--wakeups" || $0.hasPrefix("--wakeups=") }),
           let databaseURL, let relay = try TestPostgres.wakeups(for: databaseURL) {
            env["BATON_WAKEUPS"] = relay
            relayed = true
        }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("baton-\(arguments.first ?? "cmd")-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
    }

    /// Starts `count` workers.
    public static func workers(_ count: Int, databaseURL: String, arguments: [String] = []) throws -> [BatonProcess] {
        try (0..<count).map { i in try BatonProcess(["worker", "--worker-id", "test-worker-\(i)", "--poll-seconds", "1"] + arguments, databaseURL: databaseURL) }
    }

    /// Starts `baton relay` for `databaseURL`, which must reach the server directly (the relay
    /// LISTENs), on a free port or on `port`; returns it once it listens, with its port.
    public static func relay(databaseURL: String, port: Int = 0) async throws -> (BatonProcess, Int) {
        let relay = try BatonProcess(["relay", "--port", "\(port)"], databaseURL: databaseURL)
        var found = 0
        try await waitUntil(timeout: 30, "the relay to listen") {
            guard let line = relay.output.split(separator: "\n").first(where: { $0.hasPrefix("relay listening on ") }),
                  let value = line.split(separator: ":").last.flatMap({ Int($0) }) else { return false }
            found = value
            return true
        }
        return (relay, found)
    }

    /// Waits until each of `processes` that the harness gave its database's relay (the pooled
    /// run) is connected to it; at once when none was. For tests whose workers must race from
    /// the first job: before it connects, a worker only polls.
    public static func waitForRelay(_ processes: [BatonProcess], timeout: Double = 30) async throws {
        try await waitUntil(timeout: timeout, "the processes to reach their relay") {
            processes.allSatisfy { !$0.relayed || $0.output.contains("connected to the wake-up relay") }
        }
    }

    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, then waits for the exit (SIGKILL after `timeout`); returns the exit status.
    @discardableResult
    public func stop(timeout: Double = 20) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    /// Runs a short `baton` command to its end and returns (exit status, output).
    public static func run(_ arguments: [String], databaseURL: String?, environment: [String: String] = [:],
                           timeout: Double = 60) throws -> (status: Int32, output: String) {
        let command = try BatonProcess(arguments, databaseURL: databaseURL, environment: environment)
        let deadline = Date().addingTimeInterval(timeout)
        while command.process.isRunning && Date() < deadline { usleep(10_000) }
        if command.process.isRunning { command.stop() }
        defer { try? FileManager.default.removeItem(atPath: command.logPath) }
        return (command.process.terminationStatus, command.output)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
