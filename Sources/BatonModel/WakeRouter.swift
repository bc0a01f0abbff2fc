/// Whom a wake-up relay (`baton relay`) wakes for each notification of `baton_jobs`: the
/// rules, without the network, so they are unit-tested.
///
/// A fleet of hundreds of workers cannot hold a LISTEN connection each, and waking every idle
/// worker for every new job makes each one run an empty claim. The relay holds the one LISTEN
/// connection; workers connect to it, and tell it after each turn how many slots they have free
/// and how many jobs the turn took. A worker with free slots that is not already woken is
/// *parked*. For `created:FIRST:COUNT[:COMPONENTS]` the relay wakes parked workers that run
/// those components, in turn, until their free slots cover COUNT; each woken worker answers with
/// what its next turn took. Jobs nobody was woken for, or that a woken worker did not take, are
/// the *shortfall*: the next worker that parks is woken for them at once. A worker that runs
/// every component and was woken, had free slots and took nothing found nothing to claim, which
/// ends the shortfall. Listeners (coordinators) get every notification.
///
/// Wake-ups only nudge: the claim in PostgreSQL decides, so a wrong guess costs an empty claim
/// or a wait for the worker's fallback poll, never a job.
public struct WakeRouter: Sendable {
    public typealias Client = Int

    public enum Role: Sendable, Equatable {
        /// A worker; `components` nil for one that runs every component.
        case worker(components: Set<String>?)
        /// Gets every notification (a coordinator).
        case listener
    }

    /// A line to send: `seq` is 0 for a wake-up that needs no answer.
    public struct Send: Sendable, Equatable {
        public var client: Client
        public var seq: Int
        public var payload: String
        public init(client: Client, seq: Int, payload: String) {
            self.client = client
            self.seq = seq
            self.payload = payload
        }
    }

    struct State {
        var role: Role
        var free = 0
        /// The wake-up not answered yet: its sequence number and the jobs it was for.
        var awaiting: (seq: Int, jobs: Int)? = nil
        /// Woken for a shortfall and took nothing, though it only runs some components: not
        /// woken for that shortfall again (it may be work only other workers can do).
        var foundNothing = false
        var parked: Bool { free > 0 && awaiting == nil && !foundNothing }
    }

    private var clients: [Client: State] = [:]
    /// Join order, for waking in turn.
    private var order: [Client] = []
    private var next = 0
    private var seq = 0
    public private(set) var shortfall = 0
    /// The most jobs a shortfall counts: past it, a burst is taken by workers' own turns anyway.
    static let shortfallCap = 1_000_000

    public init() {}

    public var count: Int { clients.count }
    public var parkedWorkers: Int { clients.values.filter(\.parked).count }

    public mutating func join(_ client: Client, role: Role) {
        guard clients[client] == nil else { return }
        clients[client] = State(role: role)
        order.append(client)
    }

    public mutating func leave(_ client: Client) {
        guard let state = clients.removeValue(forKey: client) else { return }
        order.removeAll { $0 == client }
        if next >= order.count { next = 0 }
        // Jobs it was woken for and never answered are somebody else's now.
        if let awaiting = state.awaiting { shortfall = min(shortfall + awaiting.jobs, Self.shortfallCap) }
    }

    /// A worker's report after a turn: its free slots, the jobs the turn took, and the wake-up
    /// it answers (0: none). Returns the wake-ups it causes.
    public mutating func ready(_ client: Client, free: Int, took: Int, answering: Int) -> [Send] {
        guard var state = clients[client], case .worker(let components) = state.role else { return [] }
        state.free = max(0, free)
        if let awaiting = state.awaiting, awaiting.seq == answering {
            if took == 0 && free > 0 {
                // Woken, with room, and nothing to claim.
                if components == nil { shortfall = 0 } else { state.foundNothing = true }
            } else if took < awaiting.jobs {
                shortfall = min(shortfall + awaiting.jobs - took, Self.shortfallCap)
            }
            state.awaiting = nil
        }
        clients[client] = state
        guard shortfall > 0 else { return [] }
        let jobs = shortfall
        shortfall = 0
        return dispatch(jobs: jobs, components: nil, payload: "created")
    }

    /// A NOTIFY payload of `baton_jobs` (or "" when the relay's LISTEN started again and may
    /// have missed some). Returns the lines to send.
    public mutating func notified(_ payload: String) -> [Send] {
        var sends = clients.keys.sorted().filter { clients[$0]?.role == .listener }.map { Send(client: $0, seq: 0, payload: payload) }
        if payload.hasPrefix("kill:") || payload.isEmpty {
            // Every worker: a kill names jobs anywhere; after a gap, anything may be new.
            sends += order.filter { clients[$0]?.role != .listener }.map { Send(client: $0, seq: 0, payload: payload) }
            if payload.isEmpty { shortfall = 0 }
            return sends
        }
        if payload.hasPrefix("created:") {
            let parts = payload.dropFirst(8).split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 2, let jobs = Int(parts[1]), jobs > 0 else { return sends }
            let components = parts.count >= 3 && !parts[2].isEmpty ? Set(parts[2].split(separator: ",").map(String.init)) : nil
            for client in order { clients[client]?.foundNothing = false } // new work: worth another look
            return sends + dispatch(jobs: jobs, components: components, payload: payload)
        }
        if payload == "finished" {
            // A finish that someone can act on: a job queued behind it, or a retry.
            for client in order { clients[client]?.foundNothing = false }
            return sends + dispatch(jobs: 1, components: nil, payload: payload)
        }
        return sends
    }

    /// Wakes parked workers that run `components` (nil: any), in turn, until their free slots
    /// cover `jobs`; what is left is shortfall.
    mutating func dispatch(jobs: Int, components: Set<String>?, payload: String) -> [Send] {
        var remaining = jobs
        var sends: [Send] = []
        var looked = 0
        let start = next
        while remaining > 0 && looked < order.count {
            let index = (start + looked) % order.count
            looked += 1
            let client = order[index]
            guard var state = clients[client], state.parked, case .worker(let runs) = state.role else { continue }
            if let components, let runs, runs.isDisjoint(with: components) { continue }
            let taking = min(state.free, remaining)
            seq += 1
            state.awaiting = (seq, taking)
            clients[client] = state
            sends.append(Send(client: client, seq: seq, payload: payload))
            remaining -= taking
            next = (index + 1) % order.count
        }
        shortfall = min(shortfall + remaining, Self.shortfallCap)
        return sends
    }
}
