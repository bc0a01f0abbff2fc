import Foundation

/// An IPv4 or IPv6 address as its bytes (4 or 16).
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Dotted IPv4 (`10.0.0.1`) or IPv6 (`fd00::1`, `::ffff:10.0.0.1`, `[::1]`).
    public init?(_ text: String) {
        var text = text
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let v4 = IPAddress.parseV4(text) { self.bytes = v4; return }
        guard let v6 = IPAddress.parseV6(text) else { return nil }
        self.bytes = v6
    }

    public var isV4: Bool { bytes.count == 4 }

    private static func parseV4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), part.allSatisfy(\.isNumber),
                  let value = UInt8(part) else { return nil }
            out.append(value)
        }
        return out
    }

    private static func parseV6(_ text: String) -> [UInt8]? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        var text = Substring(text)
        // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
        var tail: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = parseV4(String(text[text.index(after: lastColon)...])) else { return nil }
            tail = v4
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
        }
        func groups(_ part: Substring) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !group.isEmpty, group.count <= 4, let value = UInt16(group, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        let wanted = tail.isEmpty ? 8 : 6
        var values: [UInt16]
        if let gap = text.range(of: "::") {
            guard let head = groups(text[..<gap.lowerBound]), let rest = groups(text[gap.upperBound...]),
                  !text[gap.upperBound...].contains("::"), head.count + rest.count < wanted else { return nil }
            values = head + Array(repeating: 0, count: wanted - head.count - rest.count) + rest
        } else {
            guard let all = groups(text), all.count == wanted else { return nil }
            values = all
        }
        return values.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] } + tail
    }

    public var description: String {
        if isV4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        // The longest run of zero groups (two or more) becomes "::".
        var best = (start: -1, length: 0), current = (start: -1, length: 0)
        for (i, group) in groups.enumerated() {
            if group == 0 {
                current = current.start < 0 ? (i, 1) : (current.start, current.length + 1)
                if current.length > best.length { best = current }
            } else { current = (-1, 0) }
        }
        let text = groups.map { String($0, radix: 16) }
        guard best.length >= 2 else { return text.joined(separator: ":") }
        return text[..<best.start].joined(separator: ":") + "::" + text[(best.start + best.length)...].joined(separator: ":")
    }

    /// The IPv4 address an IPv6 address carries (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`,
    /// 6to4 `2002:AABB:CCDD::`, IPv4-compatible `::a.b.c.d`), if any.
    public var embeddedV4: IPAddress? {
        guard !isV4 else { return nil }
        let prefix = Array(bytes[0..<12])
        if prefix == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] || prefix == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0] {
            return IPAddress(bytes: Array(bytes[12..<16]))
        }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return IPAddress(bytes: Array(bytes[2..<6])) }
        if prefix.allSatisfy({ $0 == 0 }), bytes[12..<16] != [0, 0, 0, 0], bytes[12..<16] != [0, 0, 0, 1] {
            return IPAddress(bytes: Array(bytes[12..<16]))
        }
        return nil
    }
}

/// A block of addresses: `10.0.0.0/8`, `fd00::/8`, or one address.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        let bits = address.bytes.count * 8
        if parts.count == 2 {
            guard let prefix = Int(parts[1]), (0...bits).contains(prefix) else { return nil }
            self.prefix = prefix
        } else {
            self.prefix = bits
        }
        self.address = address
    }

    public func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count else { return false }
        var left = prefix
        for (a, b) in zip(address.bytes, other.bytes) {
            if left <= 0 { return true }
            let mask: UInt8 = left >= 8 ? 0xff : ~(0xff >> UInt8(left))
            if a & mask != b & mask { return false }
            left -= 8
        }
        return true
    }

    public var description: String { "\(address)/\(prefix)" }
}

/// Where the `http` executor and webhooks may connect: public addresses, plus what the operator
/// allows (`--outbound-allow HOST|CIDR`). Loopback, private, link-local, cloud metadata and other
/// special-purpose addresses are refused by default. Checked on the addresses a name resolves to
/// (every one of them), immediately before connecting to one of them, and again for each redirect.
public struct OutboundPolicy: Sendable, Hashable {
    /// What an address is, for the policy and its messages.
    public enum AddressClass: String, Sendable, Hashable {
        case `public`, loopback, `private`, linkLocal = "link-local", metadata = "cloud metadata",
             sharedAddressSpace = "shared address space (CGNAT)", unspecified, multicast, reserved
    }

    /// Hosts allowed by name: exact (`internal.example.com`) or a subdomain pattern (`*.corp.example`).
    public var hosts: [String]
    /// Networks allowed (`10.1.0.0/16`, `127.0.0.1`).
    public var networks: [IPNetwork]

    /// Nothing beyond public addresses.
    public init() {
        hosts = []
        networks = []
    }

    /// Parses allowlist entries: host names, `*.domain` patterns, addresses and CIDR blocks.
    public init(allowing entries: [String]) throws {
        self.init()
        for raw in entries {
            let entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if entry.isEmpty { continue }
            if let network = IPNetwork(entry) {
                networks.append(network)
            } else if OutboundPolicy.isHostPattern(entry) {
                hosts.append(entry.hasSuffix(".") ? String(entry.dropLast()) : entry)
            } else {
                throw BatonError(.invalidInput, "outbound allowlist entry '\(raw)' is neither a host name (api.internal, *.corp.example) nor an address or CIDR block (10.0.0.0/8)", field: "outbound-allow")
            }
        }
    }

    static func isHostPattern(_ text: String) -> Bool {
        var name = Substring(text)
        if name.hasPrefix("*.") { name = name.dropFirst(2) }
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
    }

    public var isEmpty: Bool { hosts.isEmpty && networks.isEmpty }

    /// Whether the operator allowed this host by name.
    public func allowsHost(_ host: String) -> Bool {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return hosts.contains { pattern in
            pattern.hasPrefix("*.") ? name.hasSuffix(String(pattern.dropFirst(1))) : name == pattern
        }
    }

    /// Cloud metadata endpoints: AWS, GCP, Azure (169.254.169.254), AWS ECS (169.254.170.2),
    /// Alibaba (100.100.100.200), Oracle (192.0.0.192), AWS over IPv6 (fd00:ec2::254).
    static let metadata: [IPAddress] = ["169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254"].compactMap(IPAddress.init)

    static let v4Classes: [(IPNetwork, AddressClass)] = ([
        ("0.0.0.0/8", .unspecified), ("10.0.0.0/8", .private), ("100.64.0.0/10", .sharedAddressSpace),
        ("127.0.0.0/8", .loopback), ("169.254.0.0/16", .linkLocal), ("172.16.0.0/12", .private),
        ("192.0.0.0/24", .reserved), ("192.0.2.0/24", .reserved), ("192.88.99.0/24", .reserved), ("192.168.0.0/16", .private),
        ("198.18.0.0/15", .reserved), ("198.51.100.0/24", .reserved), ("203.0.113.0/24", .reserved),
        ("224.0.0.0/4", .multicast), ("240.0.0.0/4", .reserved),
    ] as [(String, AddressClass)]).map { (IPNetwork($0.0)!, $0.1) }

    static let v6Classes: [(IPNetwork, AddressClass)] = ([
        ("::/128", .unspecified), ("::1/128", .loopback), ("64:ff9b:1::/48", .private), ("100::/64", .reserved),
        ("2001::/32", .reserved), ("2001:db8::/32", .reserved), ("fc00::/7", .private), ("fe80::/10", .linkLocal),
        ("fec0::/10", .private), ("ff00::/8", .multicast),
    ] as [(String, AddressClass)]).map { (IPNetwork($0.0)!, $0.1) }

    /// What `address` is.
    public static func classify(_ address: IPAddress) -> AddressClass {
        if metadata.contains(address) { return .metadata }
        if let inner = address.embeddedV4 { return classify(inner) }
        for (network, kind) in address.isV4 ? v4Classes : v6Classes where network.contains(address) { return kind }
        return .public
    }

    /// Why a connection to `host`, which resolved to `addresses`, is refused; nil when it is allowed.
    /// A host allowed by name may resolve to anything; otherwise every address must be public or
    /// in an allowed network.
    public func refusal(host: String, addresses: [IPAddress]) -> String? {
        if allowsHost(host) { return nil }
        guard !addresses.isEmpty else { return "\(host) resolved to no address" }
        for address in addresses where !networks.contains(where: { $0.contains(address) }) {
            let kind = OutboundPolicy.classify(address)
            if kind != .public {
                let resolved = IPAddress(host) == nil ? "\(host) resolves to \(address), " : "\(address) is "
                let article = kind == .unspecified ? "an" : "a"
                return "refused by the outbound policy: \(resolved)\(article) \(kind.rawValue) address; the operator may allow it with --outbound-allow \(IPAddress(host) == nil ? host : address.description)"
            }
        }
        return nil
    }
}
