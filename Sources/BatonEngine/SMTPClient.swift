import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A small SMTP client (RFC 5321) for notification emails: EHLO, MAIL FROM, RCPT TO, DATA, QUIT
/// over plain TCP to a relay the operator runs. No TLS and no AUTH: point it at a local relay
/// (Postfix, a cloud provider's relay on a private network) that forwards with both.
public struct SMTPClient: Sendable {
    public var host: String
    public var port: Int
    /// Seconds each connect, read and write may take.
    public var timeoutSeconds: Double

    public init(host: String, port: Int = 25, timeoutSeconds: Double = 10) {
        self.host = host
        self.port = port
        self.timeoutSeconds = timeoutSeconds
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends one plain-text message. Blocking socket work runs on a thread of its own, off
    /// Swift's cooperative pool.
    public func send(from: String, to: String, subject: String, body: String) async throws {
        let message = Self.message(from: from, to: to, subject: subject, body: body)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let thread = Thread {
                do {
                    try self.deliver(from: from, to: to, message: message)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }

    /// The message as sent after DATA: headers, a blank line, the body with CRLF line ends and
    /// dot-stuffing, and the closing dot.
    static func message(from: String, to: String, subject: String, body: String, date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let encodedSubject = subject.allSatisfy { $0.isASCII && !$0.isNewline }
            ? subject : "=?UTF-8?B?\(Data(subject.replacingOccurrences(of: "\n", with: " ").utf8).base64EncodedString())?="
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        var lines = [
            "From: \(from)", "To: \(to)", "Subject: \(encodedSubject)", "Date: \(formatter.string(from: date))",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(domain)>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "",
        ]
        for line in body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            lines.append(line.hasPrefix(".") ? "." + line : String(line))
        }
        return lines.joined(separator: "\r\n") + "\r\n.\r\n"
    }

    private func deliver(from: String, to: String, message: String) throws {
        let fd = try connect()
        defer { close(fd) }
        var buffer = [UInt8]()
        func reply(_ expected: Int...) throws {
            // A reply is lines "CODE-text" ending with "CODE text".
            while true {
                if let end = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    buffer.removeSubrange(...end)
                    let chars = Array(line)
                    guard chars.count >= 3, let code = Int(String(chars[0..<3])) else { throw Failure(description: "SMTP server answered '\(line)'") }
                    if chars.count > 3 && chars[3] == "-" { continue }
                    guard expected.contains(code) else { throw Failure(description: "SMTP server answered '\(line)'") }
                    return
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = recv(fd, &chunk, chunk.count, 0)
                guard n > 0 else { throw Failure(description: n == 0 ? "SMTP server closed the connection" : "reading from the SMTP server failed: \(String(cString: strerror(errno)))") }
                buffer.append(contentsOf: chunk[0..<n])
            }
        }
        func say(_ text: String) throws {
            var bytes = Array(text.utf8)
            while !bytes.isEmpty {
                let n = Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw Failure(description: "writing to the SMTP server failed: \(String(cString: strerror(errno)))") }
                bytes.removeFirst(n)
            }
        }
        try reply(220)
        try say("EHLO \(ProcessInfo.processInfo.hostName)\r\n")
        try reply(250)
        try say("MAIL FROM:<\(from)>\r\n")
        try reply(250)
        try say("RCPT TO:<\(to)>\r\n")
        try reply(250, 251)
        try say("DATA\r\n")
        try reply(354)
        try say(message)
        try reply(250)
        try? say("QUIT\r\n")
    }

    private func connect() throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw Failure(description: "cannot resolve SMTP host '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1_000_000))
        var lastError = "no address"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return fd }
            lastError = String(cString: strerror(errno))
            close(fd)
        }
        throw Failure(description: "cannot connect to SMTP server \(host):\(port): \(lastError)")
    }
}
