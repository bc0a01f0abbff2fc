import BatonModel
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a `process` job: argv (never a shell), the parameters as JSON on stdin and in
/// `BATON_PARAMETERS`, each output line a job event, exit 0 = success.
enum ProcessExecutor {
    static let keptLines = 20
    /// Time a process gets between SIGTERM and SIGKILL when its job is stopped.
    static let killGraceSeconds = 10.0

    static func run(job: Job, command: [String], environment: [String: String], directory: String?, events: any EventSink) async -> ExecutionResult {
        guard let program = command.first, let path = resolve(program, extraPath: environment["PATH"]) else {
            return .error("command not found: \(command.first ?? "(empty)")", ["exitCode": .null])
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = Array(command.dropFirst())
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let parameters = job.parameters.jsonText
        env["BATON_PARAMETERS"] = parameters
        env["BATON_JOB_ID"] = String(job.id)
        env["BATON_RUN_ID"] = job.runId
        env["BATON_COMPONENT_ID"] = job.componentId
        env["BATON_CONFIG_ID"] = job.configId
        process.environment = env
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let tail = LineTail(limit: keptLines)
        let started = Mutex<pid_t?>(nil)

        // On cancellation (kill or timeout) the process group gets SIGTERM, then SIGKILL after
        // the grace period; the job ends when the process has exited.
        let exit: Int32 = await withTaskCancellationHandler {
          await withCheckedContinuation { continuation in
            let group = DispatchGroup()
            process.terminationHandler = { _ in
                group.notify(queue: .global()) { continuation.resume(returning: process.terminationStatus) }
            }
            do {
                try process.run()
            } catch {
                tail.add("cannot start \(path): \(error.localizedDescription)")
                continuation.resume(returning: -1)
                return
            }
            started.withLock { $0 = process.processIdentifier }
            events.emit(.system, "started \(program) as process \(process.processIdentifier)")
            // Blocking reads and the stdin write get threads of their own: on GCD's global queue
            // they would wait for its thread pool to grow (about a second on 2 cores).
            for (pipe, stream) in [(stdout, EventStream.stdout), (stderr, .stderr)] {
                group.enter()
                Thread.detachNewThread {
                    readLines(pipe.fileHandleForReading) { line in
                        events.emit(stream, line)
                        tail.add(line)
                    }
                    group.leave()
                }
            }
            Thread.detachNewThread {
                // A program that does not read stdin must not block or kill the job.
                signal(SIGPIPE, SIG_IGN)
                let handle = stdin.fileHandleForWriting
                try? handle.write(contentsOf: Data(parameters.utf8))
                try? handle.close()
            }
          }
        } onCancel: {
            guard let pid = started.withLock({ $0 }) else { return }
            // Foundation starts the child in a process group of its own: signal the whole group.
            kill(-pid, SIGTERM)
            DispatchQueue.global().asyncAfter(deadline: .now() + killGraceSeconds) {
                if kill(pid, 0) == 0 { kill(-pid, SIGKILL) }
            }
        }
        let lines = tail.lines
        let output: JSONValue = .array(lines.map { .string($0) })
        if exit == 0 {
            return .success("exit 0", ["exitCode": 0, "output": output])
        }
        if exit == -1 {
            return .error(lines.last ?? "cannot start \(program)", ["exitCode": .null])
        }
        let reason = process.terminationReason == .uncaughtSignal ? "killed by signal \(exit)" : "exit \(exit)"
        let last = lines.last.map { ": \($0)" } ?? ""
        return .error("\(program) failed with \(reason)\(last)", ["exitCode": .number(Double(exit)), "output": output])
    }

    /// Finds `program` on PATH unless it holds a slash.
    static func resolve(_ program: String, extraPath: String?) -> String? {
        if program.contains("/") {
            return FileManager.default.isExecutableFile(atPath: program) ? program : nil
        }
        let path = extraPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    static func readLines(_ handle: FileHandle, _ body: (String) -> Void) {
        var buffer = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<newline]
                body(String(decoding: line, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r")))
                buffer.removeSubrange(buffer.startIndex...newline)
            }
        }
        if !buffer.isEmpty { body(String(decoding: buffer, as: UTF8.self)) }
    }
}

/// The last lines a process printed, kept for the job's result.
final class LineTail: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer: [String] = []
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    func add(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        buffer.append(line)
        if buffer.count > limit { buffer.removeFirst(buffer.count - limit) }
    }

    var lines: [String] {
        lock.lock(); defer { lock.unlock() }
        return buffer
    }
}
