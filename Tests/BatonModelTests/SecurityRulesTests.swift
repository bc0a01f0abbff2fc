import BatonModel
import Foundation
import Testing

@Suite("secrets, the outbound policy and token lifetimes: the pure rules")
struct SecurityRulesTests {
    @Test("a # key holds a secret at any depth; sealed values are shown, others masked; known values are masked in output")
    func secrets() throws {
        let parameters: JSONValue = ["user": "ana", "#password": "hunter22", "db": ["#token": "tok-1234", "nested": ["#list": ["one-1", "two-2"]]]]
        #expect(Set(Secrets.secretValues(parameters)) == ["hunter22", "tok-1234", "one-1", "two-2"])
        #expect(Secrets.hasPlainSecret(parameters))
        let sealed = Secrets.mapSecretValues(parameters) { "BATON::ENC::k1::" + String($0.reversed()) }
        #expect(!Secrets.hasPlainSecret(sealed))
        #expect(Secrets.masked(sealed) == sealed, "sealed values are opaque and stay")
        #expect(Secrets.masked(parameters)["#password"] == "***")
        #expect(Secrets.masked(parameters)["user"] == "ana")
        #expect(Secrets.maskValues(in: "login hunter22 with tok-1234; hunter2", ["hunter22", "tok-1234", "abc"]) == "login *** with ***; hunter2")
        #expect(Secrets.maskValues(in: "a b c", ["a"]) == "a b c", "values shorter than 4 characters are not masked")
        #expect(Secrets.maskValues(in: "xx secret-long yy", ["secret", "secret-long"]) == "xx *** yy", "the longest first")
        #expect(Secrets.maskValues(in: ["message": "failed: hunter22", "output": ["hunter22!"]], ["hunter22"])
                == ["message": "failed: ***", "output": ["***!"]])
        #expect(Secrets.plainName("#API_KEY") == "API_KEY" && Secrets.plainName("PATH") == "PATH" && Secrets.plainName("#") == "#")
    }

    @Test("addresses: IPv4 and IPv6 text, embedded IPv4, CIDR membership")
    func addresses() throws {
        #expect(IPAddress("10.1.2.3")?.bytes == [10, 1, 2, 3])
        #expect(IPAddress("256.1.1.1") == nil && IPAddress("1.2.3") == nil && IPAddress("01234.1.1.1") == nil)
        #expect(IPAddress("::1")?.description == "::1")
        #expect(IPAddress("[fe80::1]")?.description == "fe80::1")
        #expect(IPAddress("2001:db8:0:0:1:0:0:1")?.description == "2001:db8::1:0:0:1")
        #expect(IPAddress("::ffff:127.0.0.1")?.embeddedV4 == IPAddress("127.0.0.1"))
        #expect(IPAddress("64:ff9b::a9fe:a9fe")?.embeddedV4 == IPAddress("169.254.169.254"))
        #expect(IPAddress("1::2::3") == nil && IPAddress("12345::") == nil && IPAddress(":::") == nil)
        let net = try #require(IPNetwork("172.16.0.0/12"))
        #expect(net.contains(IPAddress("172.31.255.255")!) && !net.contains(IPAddress("172.32.0.0")!))
        #expect(IPNetwork("10.0.0.1")?.prefix == 32 && IPNetwork("10.0.0.0/33") == nil)
        #expect(IPNetwork("fd00::/8")?.contains(IPAddress("fdff::1")!) == true)
    }

    @Test("loopback, private, link-local, metadata and special addresses are refused unless allowed; public ones pass")
    func outboundPolicy() throws {
        func kind(_ text: String) -> OutboundPolicy.AddressClass { OutboundPolicy.classify(IPAddress(text)!) }
        #expect(kind("127.0.0.1") == .loopback && kind("::1") == .loopback && kind("::ffff:127.0.0.2") == .loopback)
        #expect(kind("10.0.0.5") == .private && kind("192.168.1.1") == .private && kind("172.20.0.1") == .private && kind("fd12::1") == .private)
        #expect(kind("169.254.169.254") == .metadata && kind("fd00:ec2::254") == .metadata && kind("100.100.100.200") == .metadata)
        #expect(kind("64:ff9b::a9fe:a9fe") == .metadata, "NAT64 of the metadata address")
        #expect(kind("169.254.1.1") == .linkLocal && kind("fe80::1") == .linkLocal)
        #expect(kind("0.0.0.0") == .unspecified && kind("::") == .unspecified && kind("100.64.0.1") == .sharedAddressSpace)
        #expect(kind("224.0.0.1") == .multicast && kind("255.255.255.255") == .reserved && kind("2002:7f00:1::") == .loopback)
        #expect(kind("93.184.216.34") == .public && kind("2606:2800:220:1:248:1893:25c8:1946") == .public && kind("8.8.8.8") == .public)

        let closed = OutboundPolicy()
        #expect(closed.refusal(host: "example.com", addresses: [IPAddress("93.184.216.34")!]) == nil)
        let refusal = try #require(closed.refusal(host: "localhost", addresses: [IPAddress("127.0.0.1")!]))
        #expect(refusal.contains("outbound policy") && refusal.contains("loopback") && refusal.contains("--outbound-allow localhost"))
        #expect(closed.refusal(host: "rebind.example", addresses: [IPAddress("93.184.216.34")!, IPAddress("10.0.0.1")!]) != nil,
                "every address a name resolves to must pass")
        #expect(closed.refusal(host: "nothing.example", addresses: []) != nil)

        let open = try OutboundPolicy(allowing: ["10.1.0.0/16", "*.corp.example", "metrics.internal", "127.0.0.1"])
        #expect(open.refusal(host: "10.1.2.3", addresses: [IPAddress("10.1.2.3")!]) == nil)
        #expect(open.refusal(host: "10.2.0.1", addresses: [IPAddress("10.2.0.1")!]) != nil)
        #expect(open.refusal(host: "db.corp.example", addresses: [IPAddress("10.9.9.9")!]) == nil, "a host allowed by name")
        #expect(open.refusal(host: "corp.example.evil", addresses: [IPAddress("10.9.9.9")!]) != nil)
        #expect(open.refusal(host: "METRICS.internal.", addresses: [IPAddress("192.168.0.1")!]) == nil)
        #expect(open.refusal(host: "127.0.0.1", addresses: [IPAddress("127.0.0.1")!]) == nil)
        #expect(throws: BatonError.self) { try OutboundPolicy(allowing: ["http://x/"]) }
    }

    @Test("sql executors name a target; maxResponseBytes has an upper bound; a read token sees executors masked")
    func executors() throws {
        #expect(try ExecutorSpec.parse(["type": "sql", "target": "warehouse"]).get() == .sql(target: .named("warehouse")))
        #expect(try ExecutorSpec.parse(["type": "sql", "databaseUrlEnv": "WAREHOUSE_URL"]).get() == .sql(target: .environment("WAREHOUSE_URL")))
        #expect(try ExecutorSpec.parse(["type": "sql", "#databaseUrl": "BATON::ENC::x"]).get() == .sql(target: .url("BATON::ENC::x", secret: true)))
        #expect(throws: FieldIssues.self) { try ExecutorSpec.parse(["type": "sql", "target": "a", "databaseUrl": "postgres://x"]).get() }
        #expect(throws: FieldIssues.self) { try ExecutorSpec.parse(["type": "sql"]).get() }
        #expect(throws: FieldIssues.self) { try ExecutorSpec.parse(["type": "http", "url": "https://x.example", "maxResponseBytes": 1_000_000_000]).get() }
        #expect(ExecutorSpec.sql(target: .url("postgres://u:p@h/d", secret: false)).json == ["type": "sql", "databaseUrl": "postgres://u:p@h/d"])
        let masked = ExecutorSpec.masked(["type": "http", "url": "https://x.example", "headers": ["X-Key": "plain", "#Auth": "BATON::ENC::x"]])
        #expect(masked["headers"] == ["X-Key": "***", "#Auth": "***"] && masked["url"] == "https://x.example")
        #expect(ExecutorSpec.masked(["type": "sql", "databaseUrl": "postgres://u:p@h/d"])["databaseUrl"] == "***")
    }

    @Test("token lifetimes: 3600, 90m, 12h, 30d; an expired or revoked token says so")
    func tokenLifetimes() throws {
        #expect(try Token.parseLifetime("3600") == 3600 && Token.parseLifetime("90m") == 5400 && Token.parseLifetime("12h") == 43_200 && Token.parseLifetime("30d") == 2_592_000)
        #expect(throws: BatonError.self) { try Token.parseLifetime("0") }
        #expect(throws: BatonError.self) { try Token.parseLifetime("11y") }
        #expect(throws: BatonError.self) { try Token.parseLifetime("5000d") }
        let now = Date()
        var token = Token(id: 1, projectId: "a", scope: .read, description: "", expiresTime: now.addingTimeInterval(60))
        #expect(token.refusal(at: now) == nil && token.refusal(at: now.addingTimeInterval(61))?.contains("expired") == true)
        token.revokedTime = now
        #expect(token.refusal(at: now)?.contains("revoked") == true)
        #expect(token.json["expiresTime"] != nil && token.json["lastUsedTime"] == nil)
    }
}
