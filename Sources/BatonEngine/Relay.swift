import BatonModel
import BatonStore
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The wake-up relay (`baton relay`): holds the one LISTEN connection on `baton_jobs` a fleet
/// needs, and passes each notification on over plain TCP to the workers it concerns
/// (`WakeRouter` decides which) and to every coordinator. Workers and coordinators then reach
/// PostgreSQL only through a pooler in transaction mode, and a new job wakes one worker instead
/// of every idle one.
///
/// The protocol is lines of text. A client says who it is once, `hello worker ID COMPONENTS`
/// (COMPONENTS: comma-separated, or `*` for every component) or `hello listener ID`; a worker
/// then reports after each turn, `ready FREE TOOK ANSWERING` (its free slots, the jobs its turn
/// took, the wake-up it answers or 0). The relay sends `SEQ PAYLOAD`: a NOTIFY payload, with the
/// sequence number a worker answers (0: no answer expected). Anything else, or a line over
/// 1 KiB, ends the connection.
///
/// Nothing the relay sends is trusted beyond a nudge: a wake-up makes a worker claim, and the
/// claim in PostgreSQL decides; a kill makes a worker ask PostgreSQL which of its jobs to kill.
public final class Relay: Service, Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        public var port = 7420
        /// Connections beyond this are closed at once. Default 20,000.
        public var maxClients = 20_000
        public init() {}
    }

    let store: Store
    let configuration: Configuration
    let logger: Logger
    let hub: RelayHub
    /// Called with the port once the relay listens (0 in `configuration.port` picks a free one).
    let onListening: @Sendable (String, Int) -> Void

    public init(store: Store, configuration: Configuration, logger: Logger, onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.hub = RelayHub(maxClients: configuration.maxClients, logger: logger)
        self.onListening = onListening
    }

    public func run() async throws {
        await store.poolStarted()
        let hub = self.hub
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RelayServerHandler(hub: hub))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        let port = server.localAddress?.port ?? configuration.port
        logger.info("relay listening", metadata: ["baton.address": "\(configuration.host):\(port)"])
        onListening(configuration.host, port)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen() }
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    server.closeFuture.whenComplete { _ in done.resume() }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            server.close(promise: nil)
        }
        hub.closeAll()
        logger.info("relay stopped")
    }

    /// LISTEN on `baton_jobs`, reconnecting with backoff; every (re)start passes "" on, which
    /// wakes every client (notifications sent while not listening were missed).
    func listen() async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                try await store.listenForJobs(onDeaf: {
                    self.logger.error("the relay's LISTEN hears nothing (a pooler in transaction mode?): give the relay a direct or session-mode DATABASE_URL; until then workers and coordinators only poll")
                }) { payload in self.hub.notified(payload) }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN connection lost; reconnecting", metadata: ["error": "\(String(reflecting: error).prefix(200))"])
            }
            if ContinuousClock.now - started > .seconds(10) { backoff = .milliseconds(100) }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(5))
        }
    }
}

/// The relay's clients and its router, shared by every connection's handler (on NIO's event
/// loops) and the LISTEN task.
final class RelayHub: Sendable {
    private let state = Mutex<(router: WakeRouter, channels: [Int: any Channel], nextId: Int)>((WakeRouter(), [:], 0))
    let maxClients: Int
    let logger: Logger
    let clients = Gauge(label: "baton_relay_clients")
    let wakeups = Counter(label: "baton_relay_wakeups_total")

    init(maxClients: Int, logger: Logger) {
        self.maxClients = maxClients
        self.logger = logger
    }

    /// A new connection: its id, or nil when the relay is full.
    func connected(_ channel: any Channel) -> Int? {
        let (id, count) = state.withLock { state -> (Int?, Int) in
            guard state.channels.count < maxClients else { return (nil, state.channels.count) }
            state.nextId += 1
            state.channels[state.nextId] = channel
            return (state.nextId, state.channels.count)
        }
        clients.record(count)
        return id
    }

    func disconnected(_ id: Int) {
        let (sends, count) = state.withLock { state -> ([WakeRouter.Send], Int) in
            state.channels[id] = nil
            state.router.leave(id)
            return ([], state.channels.count)
        }
        clients.record(count)
        deliver(sends)
    }

    func hello(_ id: Int, role: WakeRouter.Role) {
        state.withLock { $0.router.join(id, role: role) }
    }

    func ready(_ id: Int, free: Int, took: Int, answering: Int) {
        deliver(state.withLock { $0.router.ready(id, free: free, took: took, answering: answering) })
    }

    func notified(_ payload: String) {
        deliver(state.withLock { $0.router.notified(payload) })
    }

    private func deliver(_ sends: [WakeRouter.Send]) {
        guard !sends.isEmpty else { return }
        let channels = state.withLock { state in sends.map { state.channels[$0.client] } }
        for (send, channel) in zip(sends, channels) {
            guard let channel else { continue }
            if send.seq > 0 { wakeups.increment() }
            let line = "\(send.seq) \(send.payload)\n"
            channel.writeAndFlush(ByteBuffer(string: line), promise: nil)
        }
    }

    func closeAll() {
        let channels = state.withLock { Array($0.channels.values) }
        for channel in channels { channel.close(promise: nil) }
    }
}

/// Splits a byte stream into lines of at most `limit` bytes.
struct RelayLines {
    var pending = ByteBuffer()
    let limit: Int

    enum Failure: Error { case lineTooLong, badLine }

    /// Appends `bytes` and returns the complete lines (without their newline).
    mutating func lines(_ bytes: inout ByteBuffer) throws -> [String] {
        pending.writeBuffer(&bytes)
        var lines: [String] = []
        while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - pending.readerIndex
            guard length <= limit else { throw Failure.lineTooLong }
            var line = pending.readString(length: length) ?? ""
            pending.moveReaderIndex(forwardBy: 1)
            if line.hasSuffix("\r") { line.removeLast() }
            lines.append(line)
        }
        guard pending.readableBytes <= limit else { throw Failure.lineTooLong }
        pending.discardReadBytes()
        return lines
    }
}

/// One client connection of the relay.
final class RelayServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let hub: RelayHub
    var id: Int?
    var introduced = false
    var splitter = RelayLines(limit: 1024)

    init(hub: RelayHub) { self.hub = hub }

    func channelActive(context: ChannelHandlerContext) {
        id = hub.connected(context.channel)
        if id == nil {
            hub.logger.warning("relay full: connection refused", metadata: ["baton.max_clients": "\(hub.maxClients)"])
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let id { hub.disconnected(id) }
        id = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard let id else { return }
        do {
            for line in try splitter.lines(&bytes) {
                let words = line.split(separator: " ", omittingEmptySubsequences: true)
                switch (words.first, words.count) {
                case ("hello", 4) where !introduced && words[1] == "worker":
                    introduced = true
                    let components = words[3] == "*" ? nil : Set(words[3].split(separator: ",").map(String.init))
                    hub.hello(id, role: .worker(components: components))
                case ("hello", 3) where !introduced && words[1] == "listener":
                    introduced = true
                    hub.hello(id, role: .listener)
                case ("ready", 4) where introduced:
                    guard let free = Int(words[1]), let took = Int(words[2]), let answering = Int(words[3]),
                          free >= 0, took >= 0, answering >= 0 else { throw RelayLines.Failure.badLine }
                    hub.ready(id, free: free, took: took, answering: answering)
                default:
                    throw RelayLines.Failure.badLine
                }
            }
        } catch {
            hub.logger.debug("relay client sent something it should not: closing it", metadata: ["baton.client": "\(id)"])
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
