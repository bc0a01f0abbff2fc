import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// A fleet with nothing to do costs (almost) nothing: a loop that spins instead of waiting shows
/// here as CPU time, whatever the wall clock does.
@Suite("idle processes stay idle")
struct IdleTests {
    /// CPU seconds (user + system) a process has used, from /proc.
    func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
        return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("an idle coordinator (with all its chores) and an idle worker use under 10 % of a core")
    func idle() async throws {
        let url = try await TestPostgres.shared.makeDatabase("idle")
        let coordinator = try BatonProcess(["coordinator"], databaseURL: url)
        let worker = try BatonProcess(["worker"], databaseURL: url)
        defer { coordinator.stop(); worker.stop() }
        try await waitUntil(timeout: 30, "the coordinator to lead") { coordinator.output.contains("active coordinator") }
        try await Task.sleep(for: .seconds(1)) // past start-up
        let before = try (cpuSeconds(coordinator.process.processIdentifier), cpuSeconds(worker.process.processIdentifier))
        let start = Date()
        try await Task.sleep(for: .seconds(4))
        let elapsed = Date().timeIntervalSince(start)
        let after = try (cpuSeconds(coordinator.process.processIdentifier), cpuSeconds(worker.process.processIdentifier))
        #expect((after.0 - before.0) / elapsed < 0.1, "coordinator: \(after.0 - before.0) CPU s in \(elapsed) s")
        #expect((after.1 - before.1) / elapsed < 0.1, "worker: \(after.1 - before.1) CPU s in \(elapsed) s")
    }
}
