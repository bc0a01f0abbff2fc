import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 endpoint on 127.0.0.1 for executor and webhook tests: answers every
/// request with one status (changeable while it runs) and body, and records the requests.
public final class TestHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        /// Header names lowercased.
        public var headers: [String: String]
        public var body: String
        /// The status it was answered with.
        public var status: Int
    }

    public let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var requests: [Request] = []
    private var currentStatus: Int

    /// The status answered from now on.
    public var status: Int {
        get { lock.lock(); defer { lock.unlock() }; return currentStatus }
        set { lock.lock(); currentStatus = newValue; lock.unlock() }
    }

    /// Every request received, in order, with the status it got.
    public var all: [Request] {
        lock.lock(); defer { lock.unlock() }
        return requests
    }

    public init(status: Int, body: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        currentStatus = status
        port = Int(UInt16(bigEndian: address.sin_port))
        let listener = fd
        let thread = Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                self.serve(client, body: body)
            }
        }
        thread.start()
    }

    public var received: [String] {
        all.map(\.body)
    }

    public var url: String { "http://127.0.0.1:\(port)/run" }

    private func serve(_ client: Int32, body: String) {
        let status = self.status
        defer { close(client) }
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var expected: Int?
        while true {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
            let text = String(decoding: data, as: UTF8.self)
            if let split = text.range(of: "\r\n\r\n") {
                if expected == nil {
                    let header = text[..<split.lowerBound].lowercased()
                    let lengthLine = header.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    expected = lengthLine.flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                }
                let bodyBytes = data.count - text[..<split.upperBound].utf8.count
                if bodyBytes >= expected! {
                    var headers: [String: String] = [:]
                    for line in text[..<split.lowerBound].split(separator: "\r\n").dropFirst() {
                        guard let colon = line.firstIndex(of: ":") else { continue }
                        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    }
                    lock.lock(); requests.append(Request(headers: headers, body: String(text[split.upperBound...]), status: status)); lock.unlock()
                    break
                }
            }
        }
        let response = "HTTP/1.1 \(status) X\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        _ = response.withCString { write(client, $0, strlen($0)) }
    }

    deinit { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
}
