import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy between one client (a worker) and PostgreSQL on 127.0.0.1, for fault tests:
/// `cut()` closes every connection and refuses new ones until `restore()` (a lost network), and
/// `dropNextReply(to:)` lets the next statement whose text holds a marker reach the server and
/// run to its end, then throws the server's reply away and closes the connection (a turn that
/// committed but whose reply was lost).
///
/// It speaks just enough of the PostgreSQL protocol for that: the client's startup packet, then
/// typed messages (a type byte and a length) both ways. Blocking sockets, two threads per
/// connection.
public final class PostgresProxy: @unchecked Sendable {
    public let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let state = Mutex<(cut: Bool, marker: String?, condition: (@Sendable ([[UInt8]]) -> Bool)?, dropped: Int, connections: [Int32])>((false, nil, nil, 0, []))

    /// Listens on a free port of 127.0.0.1 and forwards to `upstreamPort` there.
    public init(upstreamPort: Int) throws {
        self.upstreamPort = upstreamPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// `url` with its port replaced by the proxy's.
    public func url(for url: String) -> String {
        var components = URLComponents(string: url)!
        components.port = port
        return components.string!
    }

    /// Closes every connection and refuses new ones.
    public func cut() {
        let open = state.withLock { state -> [Int32] in
            state.cut = true
            defer { state.connections.removeAll() }
            return state.connections
        }
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    public func restore() {
        state.withLock { $0.cut = false }
    }

    /// The next statement whose text contains `marker` and whose reply (its messages up to
    /// ReadyForQuery) satisfies `condition` runs on the server, its reply is thrown away and its
    /// connection closed. Replies that do not satisfy it pass unchanged.
    public func dropNextReply(to marker: String, when condition: @escaping @Sendable ([[UInt8]]) -> Bool = { _ in true }) {
        state.withLock { $0.marker = marker; $0.condition = condition }
    }

    /// A reply with a data row whose column `column` (from 0) is not NULL: for a worker's turn
    /// (`SELECT accepted, claim_cursor, id, ...`: WorkerSession.turn), column 2 is the claimed
    /// job's id, NULL when the turn claimed nothing (column 1, the claim's cursor, is set either way).
    public static func hasValue(inColumn column: Int) -> @Sendable ([[UInt8]]) -> Bool {
        { messages in
            messages.contains { message in
                guard message.first == UInt8(ascii: "D"), message.count >= 7 else { return false }
                var offset = 7 // type, length, column count
                for index in 0...column {
                    guard offset + 4 <= message.count else { return false }
                    let length = Int32(bitPattern: UInt32(message[offset]) << 24 | UInt32(message[offset + 1]) << 16 | UInt32(message[offset + 2]) << 8 | UInt32(message[offset + 3]))
                    if index == column { return length >= 0 }
                    offset += 4 + max(0, Int(length))
                }
                return false
            }
        }
    }

    /// How many replies were thrown away so far.
    public var droppedReplies: Int { state.withLock { $0.dropped } }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            if state.withLock({ $0.cut }) { close(client); continue }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(upstreamPort).bigEndian
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if connected != 0 { close(client); close(server); continue }
            state.withLock { $0.connections += [client, server] }
            let exchange = Exchange()
            Thread.detachNewThread { [self] in pump(from: client, to: server, clientSide: true, exchange) }
            Thread.detachNewThread { [self] in pump(from: server, to: client, clientSide: false, exchange) }
        }
    }

    /// What the two directions of one connection share: whether a marked statement is in flight.
    private final class Exchange: @unchecked Sendable {
        let lock = NSLock()
        var marked = false
        var withheld: [[UInt8]] = []
    }

    /// The 8 bytes of an SSLRequest: length 8, code 80877103.
    static let sslRequest: [UInt8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]

    private func pump(from source: Int32, to destination: Int32, clientSide: Bool, _ exchange: Exchange) {
        var buffer: [UInt8] = []
        var startup = clientSide // the client's first message has no type byte
        var chunk = [UInt8](repeating: 0, count: 65536)
        defer {
            shutdown(source, Int32(SHUT_RDWR)); shutdown(destination, Int32(SHUT_RDWR))
            state.withLock { $0.connections.removeAll { $0 == source } }
            close(source)
        }
        while true {
            let n = read(source, &chunk, chunk.count)
            if n <= 0 { return }
            buffer += chunk[0..<n]
            // Whole messages only, so each can be looked at.
            var messages: [[UInt8]] = []
            while true {
                let header = startup ? 4 : 5
                guard buffer.count >= header else { break }
                let lengthAt = startup ? 0 : 1
                let length = Int(UInt32(buffer[lengthAt]) << 24 | UInt32(buffer[lengthAt + 1]) << 16 | UInt32(buffer[lengthAt + 2]) << 8 | UInt32(buffer[lengthAt + 3]))
                let total = length + (startup ? 0 : 1)
                guard total >= header - 1, buffer.count >= total else { break }
                messages.append(Array(buffer[0..<total]))
                buffer.removeFirst(total)
                startup = false
            }
            for message in messages {
                // An SSLRequest (sslmode prefer, the default): answered here with 'N' (no TLS), and
                // the client's startup packet comes next, still without a type byte.
                if clientSide && message == Self.sslRequest {
                    guard write(all: [UInt8(ascii: "N")], to: source) else { return }
                    startup = true
                    continue
                }
                if clientSide {
                    if let marker = state.withLock({ $0.marker }), (message.first == UInt8(ascii: "P") || message.first == UInt8(ascii: "Q")),
                       String(decoding: message, as: UTF8.self).contains(marker) {
                        exchange.lock.lock(); exchange.marked = true; exchange.lock.unlock()
                    }
                    guard write(all: message, to: destination) else { return }
                } else {
                    exchange.lock.lock(); let marked = exchange.marked; exchange.lock.unlock()
                    guard marked else {
                        guard write(all: message, to: destination) else { return }
                        continue
                    }
                    // The marked statement's reply is held back until ReadyForQuery (it has
                    // committed); then it is thrown away and both sides closed, or passed on.
                    exchange.lock.lock(); exchange.withheld.append(message); let reply = exchange.withheld; exchange.lock.unlock()
                    guard message.first == UInt8(ascii: "Z") else { continue }
                    let drop = state.withLock { state -> Bool in
                        guard state.marker != nil, state.condition?(reply) ?? true else { return false }
                        state.marker = nil
                        state.dropped += 1
                        return true
                    }
                    exchange.lock.lock(); exchange.marked = false; exchange.withheld = []; exchange.lock.unlock()
                    if drop {
                        shutdown(destination, Int32(SHUT_RDWR))
                        return
                    }
                    for part in reply { guard write(all: part, to: destination) else { return } }
                }
            }
        }
    }

    private func write(all bytes: [UInt8], to fd: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }
}
