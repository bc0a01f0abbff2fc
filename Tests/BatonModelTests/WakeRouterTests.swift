import BatonModel
import Testing

@Suite("wake-up relay: whom a notification wakes")
struct WakeRouterTests {
    /// A router with `workers` workers (clients 1...), each parked with `free` slots.
    func router(workers: Int, free: Int = 2, components: [Int: Set<String>] = [:]) -> WakeRouter {
        var router = WakeRouter()
        for client in 1...workers {
            router.join(client, role: .worker(components: components[client]))
            #expect(router.ready(client, free: free, took: 0, answering: 0).isEmpty)
        }
        return router
    }

    func woken(_ sends: [WakeRouter.Send]) -> [Int] { sends.filter { $0.seq > 0 }.map(\.client) }

    @Test("new jobs wake just enough parked workers to cover them, in turn")
    func enoughInTurn() {
        var router = router(workers: 4)
        #expect(woken(router.notified("created:10:3")) == [1, 2], "2 free slots each: two workers cover 3 jobs")
        #expect(woken(router.notified("created:13:1")) == [3], "the next in turn")
        #expect(woken(router.notified("created:14:1")) == [4])
        #expect(router.notified("created:15:1").isEmpty, "everyone woken and not answered yet: nobody parked")
        #expect(router.shortfall == 1)
    }

    @Test("a worker woken is not woken again until it answers; its answer says what it took")
    func awaitingAnswer() {
        var router = router(workers: 2, free: 1)
        let first = router.notified("created:1:1")
        #expect(woken(first) == [1])
        // A report of a turn of its own (not the answer) does not park it again.
        #expect(router.ready(1, free: 1, took: 0, answering: 0).isEmpty)
        #expect(woken(router.notified("created:2:1")) == [2])
        #expect(router.parkedWorkers == 0)
        // Its answer: took the job; parked again with its slot free after the job.
        #expect(router.ready(1, free: 1, took: 1, answering: first[0].seq).isEmpty)
        #expect(router.parkedWorkers == 1)
        #expect(router.shortfall == 0)
    }

    @Test("jobs nobody could be woken for go to the next worker that parks")
    func shortfallToNextReady() {
        var router = WakeRouter()
        router.join(1, role: .worker(components: nil))
        #expect(router.notified("created:1:5").isEmpty)
        #expect(router.shortfall == 5)
        let sends = router.ready(1, free: 4, took: 0, answering: 0)
        #expect(woken(sends) == [1])
        #expect(sends[0].payload == "created")
        #expect(router.shortfall == 1, "4 of 5 handed out")
    }

    @Test("a woken worker that took fewer than it was woken for passes the rest on")
    func tookFewer() {
        var router = router(workers: 2, free: 3)
        let sends = router.notified("created:1:3")
        #expect(woken(sends) == [1])
        // It took 1 of 3 (say, two were queued behind a running job of their configuration).
        let next = router.ready(1, free: 2, took: 1, answering: sends[0].seq)
        #expect(woken(next) == [2], "the other 2 are somebody's")
        // Worker 2 finds nothing: the shortfall ends there.
        #expect(router.ready(2, free: 3, took: 0, answering: next[0].seq).isEmpty)
        #expect(router.shortfall == 0)
    }

    @Test("workers that run only some components are woken only for theirs")
    func components() {
        var router = router(workers: 3, components: [1: ["extractor"], 2: ["writer"]])
        #expect(woken(router.notified("created:1:1:writer")) == [2])
        #expect(woken(router.notified("created:2:1:transformer")) == [3], "only the worker that runs every component")
        #expect(router.notified("created:3:1:transformer").isEmpty, "the extractor worker is not woken for it")
        #expect(router.shortfall == 1)
        #expect(woken(router.notified("created:4:1:extractor,writer")) == [1])
    }

    @Test("a specialist that found nothing is not woken again for the same shortfall; new jobs make it worth a look")
    func specialistFoundNothing() {
        var router = router(workers: 1, free: 1, components: [1: ["extractor"]])
        router.join(2, role: .worker(components: nil)) // not parked: never reported
        let first = router.notified("created:1:2:extractor")
        #expect(woken(first) == [1])
        #expect(router.shortfall == 1)
        // It took nothing: maybe the jobs were somebody else's. The shortfall stays, it is not re-woken.
        #expect(router.ready(1, free: 1, took: 0, answering: first[0].seq).isEmpty)
        #expect(router.shortfall == 1)
        #expect(router.parkedWorkers == 0)
        #expect(woken(router.notified("created:3:1:extractor")) == [1], "new jobs: woken again")
    }

    @Test("kills and a gap in the relay's LISTEN reach every worker; listeners get every notification")
    func broadcast() {
        var router = router(workers: 2)
        router.join(9, role: .listener)
        let kill = router.notified("kill:5,6")
        #expect(Set(kill.map(\.client)) == [1, 2, 9])
        #expect(kill.allSatisfy { $0.seq == 0 && $0.payload == "kill:5,6" }, "no answer expected")
        #expect(router.notified("created:1:1").map(\.client) == [9, 1])
        #expect(router.notified("finished").map(\.client) == [9, 2])
        #expect(Set(router.notified("").map(\.client)) == [1, 2, 9])
        #expect(router.notified("ranks").map(\.client) == [9])
    }

    @Test("a worker that leaves with a wake-up unanswered hands its jobs on")
    func leaveHandsOn() {
        var router = router(workers: 2, free: 1)
        #expect(woken(router.notified("created:1:1")) == [1])
        router.leave(1)
        #expect(router.shortfall == 1)
        #expect(woken(router.ready(2, free: 1, took: 0, answering: 0)) == [2])
        #expect(router.count == 1)
    }
}
