import BatonModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Python tools some tests drive (aiosmtpd as an SMTP server, prometheus_client's text parser),
/// from PyPI into a virtualenv under the project's ignored `.baton/`, made on first use.
public enum TestPython {
    public static let packages = ["aiosmtpd==1.4.6", "prometheus-client==0.23.1"]

    /// The virtualenv's python, with `packages` installed.
    public static func python() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let venv = root + "/.baton/test-venv"
        let ready = venv + "/.installed-" + packages.joined(separator: "-")
        if !FileManager.default.fileExists(atPath: ready) {
            try FileManager.default.createDirectory(atPath: root + "/.baton", withIntermediateDirectories: true)
            // Tests run in parallel: one makes the virtualenv, the others wait for it.
            let lock = open(root + "/.baton/test-venv.lock", O_CREAT | O_RDWR, 0o644)
            defer { if lock >= 0 { close(lock) } }
            if lock >= 0 { flock(lock, LOCK_EX) }
            if FileManager.default.fileExists(atPath: ready) { return venv + "/bin/python" }
            for (tool, arguments) in [("/usr/bin/env", ["python3", "-m", "venv", venv]), (venv + "/bin/pip", ["install", "-q"] + packages)] {
                let (status, output) = try run(tool, arguments)
                guard status == 0 else {
                    throw BatonError(.environment, "could not install \(packages.joined(separator: ", ")) into \(venv) (PyPI must be reachable): \(output.suffix(500))")
                }
            }
            _ = FileManager.default.createFile(atPath: ready, contents: Data())
        }
        return venv + "/bin/python"
    }

    /// Runs a program to its end; returns its exit status and its output (stdout and stderr).
    public static func run(_ path: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("baton-py-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        var inputPath: String?
        if let input {
            inputPath = log + ".in"
            _ = FileManager.default.createFile(atPath: inputPath!, contents: Data(input.utf8))
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inputPath!))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        defer { if let inputPath { try? FileManager.default.removeItem(atPath: inputPath) } }
        try process.run()
        try? handle.close()
        while process.isRunning { usleep(10_000) }
        return (process.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    /// Starts a long-running program (a server) with its output discarded.
    public static func start(_ path: String, _ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Prometheus text parsed by prometheus_client's parser (the reference Python client):
    /// every sample as (name, labels, value). Throws when the text does not parse.
    public static func parsePrometheus(_ text: String) throws -> [(name: String, labels: [String: String], value: Double)] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    out.append({"name": s.name, "labels": s.labels, "value": s.value, "type": family.type})
            print(json.dumps(out))
            """
        let (status, output) = try run(try python(), ["-c", script], input: text)
        guard status == 0, let parsed = try? JSONValue.parse(output), case .array(let samples) = parsed else {
            throw BatonError(.invalidInput, "prometheus_client could not parse the metrics text: \(output.suffix(800))")
        }
        return samples.map { sample in
            var labels: [String: String] = [:]
            if case .object(let object)? = sample["labels"] { for (key, value) in object { labels[key] = value.stringValue ?? "" } }
            return (sample["name"]?.stringValue ?? "", labels, sample["value"]?.numberValue ?? .nan)
        }
    }
}
