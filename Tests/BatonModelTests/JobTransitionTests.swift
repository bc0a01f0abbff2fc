import BatonModel
import Testing

@Suite("the job status transition table")
struct JobTransitionTests {
    @Test("every pair of statuses: legal exactly when the table has a row for it", arguments: JobStatus.allCases)
    func everyPair(from: JobStatus) {
        let expected: [JobStatus: Set<JobStatus>] = [
            .created: [.processing, .waiting, .cancelled],
            .waiting: [.processing, .waiting, .cancelled, .created],
            .processing: [.success, .warning, .error, .terminated, .terminating, .created],
            .terminating: [.success, .warning, .error, .terminated, .terminating, .cancelled],
            .success: [], .warning: [], .error: [], .terminated: [], .cancelled: [],
        ]
        for to in JobStatus.allCases {
            #expect(JobTransition.isLegal(from: from, to: to) == expected[from]!.contains(to), "\(from) -> \(to)")
        }
    }

    @Test("a final status never changes; a new job starts created or waiting")
    func finalAndNew() {
        for row in JobTransition.all {
            if let from = row.from { #expect(!from.isFinal, "\(row)") } else { #expect([.created, .waiting].contains(row.to), "\(row)") }
        }
    }

    @Test("only a running job can be finished, retried, rescued or released; the claim starts it")
    func causes() {
        for row in JobTransition.all {
            switch row.cause {
            case .finish, .retry, .rescue, .rescueRetry, .release:
                #expect(row.from?.isRunning == true, "\(row)")
            case .claim:
                #expect(row.to == .processing && [.created, .waiting].contains(row.from), "\(row)")
            case .holdForConfiguration, .holdForProject, .pause:
                #expect(row.to == .waiting && row.from?.isRunning == false, "\(row)")
            case .resume, .resumeBehind:
                #expect(row.from == .waiting && !row.to.isRunning && !row.to.isFinal, "a resumed job is queued again, not started: \(row)")
            case .kill:
                #expect(row.to == (row.from?.isRunning == true ? .terminating : .cancelled), "\(row)")
            case .create, .createBehind, .createPaused:
                #expect(row.from == nil, "\(row)")
            }
        }
    }

    @Test("a killed job is never queued again: retries leave from processing only (desired status processing)")
    func killedNotRetried() {
        #expect(JobTransition.find(from: .terminating, cause: .retry, to: .created) == nil)
        #expect(JobTransition.find(from: .terminating, cause: .rescueRetry, to: .created) == nil)
        #expect(JobTransition.next(from: .terminating, on: .rescue) == .terminated)
        #expect(JobTransition.next(from: .processing, on: .rescue) == .error)
        #expect(JobTransition.next(from: .processing, on: .finish, outcome: .warning) == .warning)
        #expect(JobTransition.next(from: .created, on: .finish, outcome: .success) == nil)
    }

    @Test("no row is written twice")
    func unique() {
        #expect(Set(JobTransition.all.map { "\($0.from?.rawValue ?? "-") \($0.cause) \($0.to)" }).count == JobTransition.all.count)
    }
}
