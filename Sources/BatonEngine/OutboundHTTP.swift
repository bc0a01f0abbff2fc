import BatonModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The HTTP client of the `http` executor and of webhooks, under an `OutboundPolicy`.
///
/// It resolves the host itself, checks every address against the policy, and connects to an
/// address it checked (so a name cannot resolve to something else between the check and the
/// connection); each redirect is a new request, checked the same way. The response body is read
/// up to a limit and the connection closed there: a large answer costs nothing.
public struct OutboundHTTP: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: Data
        /// More bytes followed than the limit.
        public var truncated: Bool
        /// The URL that answered (after redirects).
        public var url: String
    }

    /// A request refused by the policy, or that failed; the message says which and why.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public let policy: OutboundPolicy
    public var maxRedirects = 5
    public var connectTimeout: TimeAmount = .seconds(10)

    public init(policy: OutboundPolicy) {
        self.policy = policy
    }

    /// Sends `method url` with `headers` and `body`; returns the final answer with at most
    /// `limit` bytes of its body. `timeout` bounds the whole exchange, redirects included.
    public func send(_ method: HTTPMethod, url: String, headers: [(String, String)], body: Data?, limit: Int,
                     timeout: Duration) async throws -> Response {
        try await withThrowingTaskGroup(of: Response.self) { group in
            group.addTask { try await self.follow(method, url: url, headers: headers, body: body, limit: limit) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw Failure(description: "no answer from \(url) within \(timeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    func follow(_ method: HTTPMethod, url: String, headers: [(String, String)], body: Data?, limit: Int) async throws -> Response {
        var (method, current, headers, body) = (method, url, headers, body)
        var origin = try Target(current).origin
        for _ in 0...maxRedirects {
            let target = try Target(current)
            // Headers the job or subscription gave go only to the origin they were given for.
            if target.origin != origin {
                headers = headers.filter { $0.0.lowercased().hasPrefix("x-baton-") || $0.0.lowercased() == "content-type" || $0.0.lowercased() == "user-agent" }
                origin = target.origin
            }
            let response = try await exchange(method, target, headers: headers, body: body, limit: limit)
            guard [301, 302, 303, 307, 308].contains(Int(response.status.code)),
                  let location = response.location,
                  let next = URL(string: location, relativeTo: URL(string: current))?.absoluteURL.absoluteString else {
                return Response(status: Int(response.status.code), body: response.body, truncated: response.truncated, url: current)
            }
            if [301, 302, 303].contains(Int(response.status.code)) && method != .GET && method != .HEAD {
                method = .GET
                body = nil
                headers = headers.filter { $0.0.lowercased() != "content-type" }
            }
            current = next
        }
        throw Failure(description: "more than \(maxRedirects) redirects from \(url)")
    }

    /// A URL's parts, checked: http or https, a host.
    struct Target {
        var https: Bool
        var host: String
        var port: Int
        var pathAndQuery: String
        var origin: String

        init(_ text: String) throws {
            guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", var host = components.host, !host.isEmpty else {
                throw Failure(description: "not an http:// or https:// URL: \(text)")
            }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            https = scheme == "https"
            self.host = host.removingPercentEncoding ?? host
            port = components.port ?? (https ? 443 : 80)
            let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            pathAndQuery = path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")
            origin = "\(scheme)://\(self.host.lowercased()):\(port)"
        }

        var hostHeader: String {
            let name = host.contains(":") ? "[\(host)]" : host
            return port == (https ? 443 : 80) ? name : "\(name):\(port)"
        }
    }

    struct Answer {
        var status: HTTPResponseStatus
        var location: String?
        var body: Data
        var truncated: Bool
    }

    static let tlsContext: Result<NIOSSLContext, any Error> = Result { try NIOSSLContext(configuration: .makeClientConfiguration()) }

    func exchange(_ method: HTTPMethod, _ target: Target, headers: [(String, String)], body: Data?, limit: Int) async throws -> Answer {
        let addresses = try await Self.resolve(target.host, port: target.port)
        if let refusal = policy.refusal(host: target.host, addresses: addresses) {
            throw Failure(description: refusal)
        }
        let tls: NIOSSLContext? = target.https ? try Self.tlsContext.get() : nil
        let serverName = IPAddress(target.host) == nil ? target.host : nil
        var lastError: (any Error)?
        for address in addresses {
            let socket = try SocketAddress(ipAddress: address.description, port: target.port)
            let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
            do {
                channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(connectTimeout)
                    .connect(to: socket) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            if let tls {
                                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName))
                            }
                            try channel.pipeline.syncOperations.addHTTPClientHandlers()
                            return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                        }
                    }
            } catch {
                lastError = error
                continue
            }
            return try await withTaskCancellationHandler {
                try await channel.executeThenClose { inbound, outbound in
                    var head = HTTPRequestHead(version: .http1_1, method: method, uri: target.pathAndQuery)
                    head.headers.add(name: "Host", value: target.hostHeader)
                    for (name, value) in headers { head.headers.replaceOrAdd(name: name, value: value) }
                    head.headers.replaceOrAdd(name: "Content-Length", value: String(body?.count ?? 0))
                    head.headers.replaceOrAdd(name: "Connection", value: "close")
                    try await outbound.write(.head(head))
                    if let body, !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                    try await outbound.write(.end(nil))
                    var answer = Answer(status: .ok, location: nil, body: Data(), truncated: false)
                    var gotHead = false
                    for try await part in inbound {
                        switch part {
                        case .head(let response):
                            // 1xx answers (100 Continue) come before the real one.
                            if response.status.code < 200 { continue }
                            gotHead = true
                            answer.status = response.status
                            answer.location = response.headers.first(name: "Location")
                        case .body(var buffer):
                            let room = limit - answer.body.count
                            if buffer.readableBytes > room {
                                answer.body.append(contentsOf: buffer.readBytes(length: max(room, 0)) ?? [])
                                answer.truncated = true
                                return answer
                            }
                            answer.body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
                        case .end:
                            if gotHead { return answer }
                        }
                    }
                    guard gotHead else { throw Failure(description: "\(target.origin) closed the connection without an answer") }
                    return answer
                }
            } onCancel: {
                channel.channel.close(promise: nil)
            }
        }
        throw Failure(description: "cannot connect to \(target.origin): \(lastError.map { "\($0)" } ?? "no address")")
    }

    /// The addresses `host` resolves to (itself, for an address).
    static func resolve(_ host: String, port: Int) async throws -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_family = AF_UNSPEC
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, String(port), &hints, &list)
                guard status == 0, let first = list else {
                    continuation.resume(throwing: Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))"))
                    return
                }
                defer { freeaddrinfo(first) }
                var found: [IPAddress] = []
                var next: UnsafeMutablePointer<addrinfo>? = first
                while let entry = next {
                    if let address = entry.pointee.ai_addr {
                        switch Int32(entry.pointee.ai_family) {
                        case AF_INET:
                            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                                var raw = v4.pointee.sin_addr
                                let bytes = withUnsafeBytes(of: &raw) { Array($0) }
                                if let ip = IPAddress(bytes: bytes), !found.contains(ip) { found.append(ip) }
                            }
                        case AF_INET6:
                            address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                                var raw = v6.pointee.sin6_addr
                                let bytes = withUnsafeBytes(of: &raw) { Array($0) }
                                if let ip = IPAddress(bytes: bytes), !found.contains(ip) { found.append(ip) }
                            }
                        default: break
                        }
                    }
                    next = entry.pointee.ai_next
                }
                continuation.resume(returning: found)
            }
        }
    }
}
