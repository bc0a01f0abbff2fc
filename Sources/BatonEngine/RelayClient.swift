import BatonModel
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Where a worker or coordinator hears of new jobs, finished tasks and kills.
public enum Wakeups: Sendable, Equatable {
    /// LISTEN on `baton_jobs` over a connection of its own (a direct connection, or a pooler
    /// in session mode).
    case listen
    /// A wake-up relay (`baton relay`) at this address: no LISTEN, no session state, so the
    /// process can reach PostgreSQL through a pooler in transaction mode.
    case relay(host: String, port: Int)
    /// Only the fallback poll.
    case poll

    /// `listen`, `poll` or `HOST:PORT`.
    public static func parse(_ text: String) throws -> Wakeups {
        switch text {
        case "listen": return .listen
        case "poll": return .poll
        default:
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port),
                  colon != text.startIndex else {
                throw BatonError(.invalidInput, "wake-ups must be listen, poll or HOST:PORT of a baton relay (got '\(text)')", field: "wakeups")
            }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return .relay(host: host, port: port)
        }
    }
}

/// A connection to the wake-up relay (see `Relay`), kept open with reconnects. A worker says
/// what it runs and reports its free slots after every turn; each line the relay sends is
/// passed to `onWake`.
final class RelayClient: Sendable {
    enum Role: Sendable {
        case worker(id: String, components: [String]?)
        case listener(id: String)
    }

    let host: String
    let port: Int
    let role: Role
    let logger: Logger
    private let channel = Mutex<(any Channel)?>(nil)
    /// The last report sent on this connection, so an unchanged one is not sent again.
    private let lastReport = Mutex<(free: Int, took: Int)?>(nil)

    init(host: String, port: Int, role: Role, logger: Logger) {
        self.host = host
        self.port = port
        self.role = role
        self.logger = logger
    }

    var isConnected: Bool { channel.withLock { $0?.isActive ?? false } }

    /// Connects and reconnects (with backoff) until cancelled; `onWake(seq, payload)` gets each
    /// line, and `onWake(0, "")` after every (re)connect: what was sent meanwhile was missed.
    func run(onWake: @escaping @Sendable (Int, String) -> Void) async {
        var backoff = Duration.milliseconds(100)
        var warned = false
        while !Task.isCancelled {
            do {
                let connected = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .connectTimeout(.seconds(5))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(RelayClientHandler(onLine: onWake))
                        }
                    }
                    .connect(host: host, port: port).get()
                let hello: String
                switch role {
                case .worker(let id, let components): hello = "hello worker \(id) \(components.map { $0.joined(separator: ",") } ?? "*")\n"
                case .listener(let id): hello = "hello listener \(id)\n"
                }
                try await connected.writeAndFlush(ByteBuffer(string: hello)).get()
                lastReport.withLock { $0 = nil }
                channel.withLock { $0 = connected }
                logger.info("connected to the wake-up relay", metadata: ["baton.relay": "\(host):\(port)"])
                warned = false
                backoff = .milliseconds(100)
                onWake(0, "")
                try await withTaskCancellationHandler {
                    try await connected.closeFuture.get()
                } onCancel: {
                    connected.close(promise: nil)
                }
                channel.withLock { $0 = nil }
                if Task.isCancelled { return }
                logger.warning("wake-up relay connection closed; polling every poll interval until it is back", metadata: ["baton.relay": "\(host):\(port)"])
            } catch {
                channel.withLock { $0 = nil }
                if Task.isCancelled { return }
                if !warned {
                    logger.warning("wake-up relay unreachable; polling every poll interval until it is back",
                                   metadata: ["baton.relay": "\(host):\(port)", "error": "\(String(reflecting: error).prefix(200))"])
                    warned = true
                }
            }
            try? await Task.sleep(for: backoff * Double.random(in: 0.8...1.2))
            backoff = min(backoff * 2, .seconds(5))
        }
    }

    /// A worker's report after a turn: free slots, jobs the turn took, the wake-up it answers
    /// (0: none). An unchanged report answering nothing is not sent again.
    func report(free: Int, took: Int, answering: Int) {
        guard let channel = channel.withLock({ $0 }) else { return }
        let changed = lastReport.withLock { last -> Bool in
            if answering == 0, let last, last.free == free { return false }
            last = (free, took)
            return true
        }
        guard changed else { return }
        channel.writeAndFlush(ByteBuffer(string: "ready \(free) \(took) \(answering)\n"), promise: nil)
    }
}

/// Reads the relay's lines, `SEQ PAYLOAD`.
final class RelayClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let onLine: @Sendable (Int, String) -> Void
    var splitter = RelayLines(limit: 16 * 1024)

    init(onLine: @escaping @Sendable (Int, String) -> Void) { self.onLine = onLine }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        do {
            for line in try splitter.lines(&bytes) {
                guard let space = line.firstIndex(of: " "), let seq = Int(line[..<space]) else { throw RelayLines.Failure.badLine }
                onLine(seq, String(line[line.index(after: space)...]))
            }
        } catch {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
