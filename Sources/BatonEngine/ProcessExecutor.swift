import BatonModel
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a `process` job: argv (never a shell), the parameters as JSON on stdin and in the file
/// `BATON_PARAMETERS_FILE` (and in `BATON_PARAMETERS` up to 64 KiB), each output line a job
/// event, exit 0 = success.
///
/// The program runs under a `baton-shim` (Sources/baton-shim/main.c), one per job: the shim is
/// the child subreaper of everything the job starts and ends all of it when the job is stopped,
/// when the job's fence deadline passes without a renewal, when the worker dies (its command pipe
/// closes), and when the program exits leaving processes behind. So a job's processes never
/// outlive its claim, even those that call setsid.
enum ProcessExecutor {
    static let keptLines = 20
    /// Time a process gets between SIGTERM and SIGKILL when its job is stopped.
    static let killGraceSeconds = 10.0

    /// `environment` is the whole environment of the job (the worker's own is not added); the
    /// `BATON_*` variables and `HOME` (the job's private folder) are set here. With `user`, the
    /// job runs as that Unix user (the shim switches to it before it starts the program).
    static func run(job: Job, command: [String], environment: [String: String], user: ExecutionPolicy.JobUser? = nil,
                    directory: String?, events: any EventSink, control: JobControl) async -> ExecutionResult {
        guard let program = command.first, let path = resolve(program, extraPath: environment["PATH"]) else {
            return .error("command not found: \(command.first ?? "(empty)")", ["exitCode": .null])
        }
        let shim: String
        switch Shim.path() {
        case .success(let found): shim = found
        case .failure(let error): return .error(error.message)
        }
        Shim.ignoreSIGPIPE
        let folder: String
        do {
            folder = try Shim.makeFolder(for: job)
        } catch {
            return .error("cannot make the job's folder in \(FileManager.default.temporaryDirectory.path): \(error)")
        }
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let parameters = job.parameters.jsonText
        let parametersFile = folder + "/parameters.json"
        let statusFile = folder + "/status"
        guard FileManager.default.createFile(atPath: parametersFile, contents: Data(parameters.utf8), attributes: [.posixPermissions: 0o600]) else {
            return .error("cannot write the job's parameters to \(parametersFile)")
        }

        // HOME is a folder of the job's own; the status file stays in a folder only the worker's
        // user may write, so a job run as another user cannot replace it (with a link, say).
        let home = folder + "/home"
        do {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            return .error("cannot make the job's home folder \(home): \(error)")
        }
        if let user {
            guard chmod(folder, 0o711) == 0, chown(home, user.uid, user.gid) == 0, chown(parametersFile, user.uid, user.gid) == 0 else {
                return .error("cannot give the job's files to user \(user.name): \(String(cString: strerror(errno)))")
            }
        }
        var env = environment
        env["HOME"] = home
        env["BATON_PARAMETERS_FILE"] = parametersFile
        // Linux refuses an environment string over 128 KiB: large parameters only on stdin and in the file.
        env["BATON_PARAMETERS"] = parameters.utf8.count <= OutputLimits.environmentParameterBytes ? parameters : nil
        env["BATON_JOB_ID"] = String(job.id)
        env["BATON_RUN_ID"] = job.runId
        env["BATON_COMPONENT_ID"] = job.componentId
        env["BATON_CONFIG_ID"] = job.configId

        let process = Process()
        process.executableURL = URL(fileURLWithPath: shim)
        process.arguments = (user.map { ["--user", "\($0.uid):\($0.gid)"] } ?? [])
            + [statusFile, parametersFile, directory ?? "-", String(control.fenceDeadline), "--", path] + command.dropFirst()
        process.environment = env
        let commands = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = commands
        process.standardOutput = stdout
        process.standardError = stderr
        let tail = LineTail(limit: keptLines)
        let cleaning = Mutex(OutputCleaning())

        let exited: Bool = await withCheckedContinuation { continuation in
            let group = DispatchGroup()
            process.terminationHandler = { _ in
                group.notify(queue: .global()) { continuation.resume(returning: true) }
            }
            do {
                try process.run()
            } catch {
                tail.add("cannot start baton-shim at \(shim): \(error.localizedDescription)")
                continuation.resume(returning: false)
                return
            }
            let link = ShimLink(commands.fileHandleForWriting)
            if let first = control.attach(link) { link.send(first) }
            events.emit(.system, "started \(program) (baton-shim process \(process.processIdentifier))")
            // Blocking reads get threads of their own: on GCD's global queue they would wait for
            // its thread pool to grow (about a second on 2 cores).
            for (pipe, stream) in [(stdout, EventStream.stdout), (stderr, .stderr)] {
                group.enter()
                Thread.detachNewThread {
                    readLines(pipe.fileHandleForReading) { piece in
                        cleaning.withLock { $0.count(piece) }
                        events.emit(stream, piece.line.text)
                        tail.add(piece.line.text)
                    }
                    group.leave()
                }
            }
        }
        try? commands.fileHandleForWriting.close()
        guard exited else {
            return .error(tail.lines.last ?? "cannot start \(program)", ["exitCode": .null])
        }

        let lines = tail.lines
        var extra: [String: JSONValue] = ["output": .array(lines.map { .string($0) })]
        if let cleaned = cleaning.withLock({ $0.json }) { extra["outputCleaned"] = cleaned }
        let status = (try? String(contentsOfFile: statusFile, encoding: .utf8)) ?? ""
        let words = status.split(whereSeparator: \.isWhitespace)
        switch words.first {
        case "exit"?, "signal"?:
            let code = words.count > 1 ? Int(words[1]) ?? -1 : -1
            let leftovers = words.count > 2 ? Int(words[2]) ?? 0 : 0
            if leftovers > 0 {
                events.emit(.system, "\(leftovers) process\(leftovers == 1 ? "" : "es") the job left running \(leftovers == 1 ? "was" : "were") killed")
                extra["leftoverProcesses"] = .number(Double(leftovers))
            }
            if words.first == "exit" {
                extra["exitCode"] = .number(Double(code))
                if code == 0 { return .success("exit 0", extra) }
                let last = lines.last.map { ": \($0)" } ?? ""
                return .error("\(program) failed with exit \(code)\(last)", extra)
            }
            extra["exitCode"] = .number(Double(code))
            extra["signal"] = .number(Double(code))
            let last = lines.last.map { ": \($0)" } ?? ""
            return .error("\(program) failed with killed by signal \(code)\(last)", extra)
        case "fenced"?, "orphaned"?:
            return .fencedResult
        case "spawn-error"?:
            let message = words.dropFirst(2).joined(separator: " ")
            return .error(message.isEmpty ? "cannot start \(program)" : message, ["exitCode": .null])
        default:
            // The shim itself died (someone killed it): the job's processes may still run.
            let how = process.terminationReason == .uncaughtSignal ? "was killed by signal \(process.terminationStatus)" : "exited \(process.terminationStatus)"
            return .error("the job's supervisor (baton-shim) \(how) before the job ended: its processes may still run", extra)
        }
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

    /// Reads `handle` to its end, line by line (`LineSplitter`: cut at 64 KiB, NUL and invalid
    /// UTF-8 replaced).
    static func readLines(_ handle: FileHandle, _ body: (LineSplitter.Piece) -> Void) {
        var splitter = LineSplitter()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            for piece in splitter.feed(chunk) { body(piece) }
        }
        if let last = splitter.finish() { body(last) }
    }
}

/// What was changed in a job's output to store it, for its result.
struct OutputCleaning: Sendable {
    var nulBytes = 0
    var invalidUTF8Lines = 0
    var cutLines = 0
    var droppedBytes = 0

    mutating func count(_ piece: LineSplitter.Piece) {
        nulBytes += piece.line.nulBytes
        if piece.line.invalidUTF8 { invalidUTF8Lines += 1 }
        if piece.droppedBytes > 0 { cutLines += 1; droppedBytes += piece.droppedBytes }
    }

    var json: JSONValue? {
        guard nulBytes + invalidUTF8Lines + cutLines > 0 else { return nil }
        return ["nulBytes": .number(Double(nulBytes)), "invalidUTF8Lines": .number(Double(invalidUTF8Lines)),
                "cutLines": .number(Double(cutLines)), "droppedBytes": .number(Double(droppedBytes))]
    }
}

/// Where `baton-shim` is, and the job folders it uses.
enum Shim {
    /// `$BATON_SHIM`, else `baton-shim` beside the running executable (the `baton` binary, or the
    /// test runner in the build folder), else in a folder above it (the build folder of a test run).
    static func path() -> Result<String, BatonError> {
        if let env = ProcessInfo.processInfo.environment["BATON_SHIM"], !env.isEmpty {
            return FileManager.default.isExecutableFile(atPath: env) ? .success(env)
                : .failure(BatonError(.environment, "BATON_SHIM=\(env) is not an executable file"))
        }
        if let found = located.withLock({ $0 }) { return .success(found) }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("baton-shim").path
            if FileManager.default.isExecutableFile(atPath: candidate) {
                located.withLock { $0 = candidate }
                return .success(candidate)
            }
            directory = directory.deletingLastPathComponent()
        }
        return .failure(BatonError(.environment, "baton-shim was not found beside \(executable): process jobs need it (it is built with baton; install it in the same folder, or set BATON_SHIM)"))
    }

    private static let located = Mutex<String?>(nil)

    /// A worker writes to the command pipe of a shim that may have exited: that must not kill it.
    static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN); return () }()

    /// A private folder for one job attempt: its parameters file and the shim's status file.
    static func makeFolder(for job: Job) throws -> String {
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("baton-job-\(job.id)-\(job.attempt)-XXXXXX").path.utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw BatonError(.environment, String(cString: strerror(errno))) }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
