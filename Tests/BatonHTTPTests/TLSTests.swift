import BatonEngine
import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

/// A PostgreSQL of its own that accepts TCP only over TLS (`hostssl` lines alone in pg_hba.conf),
/// with a server certificate for `localhost` signed by a certificate authority the test makes.
struct TLSPostgres {
    let directory: String
    let port: Int
    let ca: String
    let otherCA: String

    static func start() async throws -> TLSPostgres {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("baton-tls-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory + "/certs", withIntermediateDirectories: true)
        let certs = directory + "/certs"
        try sh("""
            cd \(certs)
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=Baton test CA"
            openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -days 2 -subj "/CN=Someone else's CA"
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
            printf 'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext
            chmod 644 ca.crt other.crt
            """)
        var port = 0
        var started = false
        for _ in 0..<5 where !started {
            port = Int.random(in: 20_000...30_000)
            do {
                _ = try await LocalPostgres(.init(directory: directory + "/pg", port: port, database: "tls", settings: ["fsync": "off"])).up(logger: TestPostgres.shared.logger)
                started = true
            } catch { continue }
        }
        guard started else { throw BatonError(.environment, "the TLS PostgreSQL did not start") }
        let data = directory + "/pg/data"
        try sh("""
            cp \(certs)/server.crt \(certs)/server.key \(data)/
            chmod 600 \(data)/server.key
            if [ "$(id -u)" = 0 ]; then chown postgres:postgres \(data)/server.crt \(data)/server.key; fi
            printf 'local all all trust\\nhostssl all all 127.0.0.1/32 trust\\nhostssl all all ::1/128 trust\\n' > \(data)/pg_hba.conf
            """)
        try await Store.withStore(url: "postgres://postgres@127.0.0.1:\(port)/tls", logger: TestPostgres.shared.logger) { store in
            try await store.client.query("ALTER SYSTEM SET ssl = 'on'", logger: store.logger)
            try await store.client.query("ALTER SYSTEM SET ssl_cert_file = 'server.crt'", logger: store.logger)
            try await store.client.query("ALTER SYSTEM SET ssl_key_file = 'server.key'", logger: store.logger)
            try await store.client.query("SELECT pg_reload_conf()", logger: store.logger)
        }
        try await Task.sleep(for: .milliseconds(500))
        return TLSPostgres(directory: directory, port: port, ca: certs + "/ca.crt", otherCA: certs + "/other.crt")
    }

    func url(host: String = "localhost", _ query: String) -> String {
        "postgres://postgres@\(host):\(port)/tls?\(query)"
    }

    func stop() {
        try? LocalPostgres(.init(directory: directory + "/pg")).down(mode: "immediate")
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    static func sh(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-ec", script]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw BatonError(.environment, "sh failed: \(text)") }
        return text
    }
}

@Suite("TLS to PostgreSQL", .serialized)
struct TLSTests {
    @Test("a TLS-only server: sslmode verify-full with the operator's CA connects; disable, a wrong CA and a wrong host name are refused; sql targets too")
    func tlsOnlyServer() async throws {
        let server = try await TLSPostgres.start()
        defer { server.stop() }

        let full = try BatonProcess.run(["migrate"], databaseURL: server.url("sslmode=verify-full&sslrootcert=\(server.ca)"))
        #expect(full.status == 0, "verify-full with the CA: \(full.output)")

        let plain = try BatonProcess.run(["migrate"], databaseURL: server.url("sslmode=disable"))
        #expect(plain.status != 0, "sslmode=disable reached a hostssl-only server")

        let wrongCA = try BatonProcess.run(["migrate"], databaseURL: server.url("sslmode=verify-full&sslrootcert=\(server.otherCA)"))
        #expect(wrongCA.status != 0, "a certificate from another CA was trusted")

        let wrongHost = try BatonProcess.run(["migrate"], databaseURL: server.url(host: "127.0.0.1", "sslmode=verify-full&sslrootcert=\(server.ca)"))
        #expect(wrongHost.status != 0, "verify-full accepted a certificate for localhost at 127.0.0.1")

        for query in ["sslmode=verify-ca&sslrootcert=\(server.ca)", "sslmode=require", "sslmode=prefer"] {
            let result = try BatonProcess.run(["migrate"], databaseURL: server.url(host: "127.0.0.1", query))
            #expect(result.status == 0, "\(query): \(result.output)")
        }
        let bogus = try BatonProcess.run(["migrate"], databaseURL: server.url("sslmode=sometimes"))
        #expect(bogus.status == 2 && bogus.output.contains("sslmode"), "an unknown sslmode is refused by name: \(bogus.output)")

        // An sql job whose target is the TLS-only server, named by the operator.
        let url = try await TestPostgres.shared.makeDatabase("tls_jobs", applying: """
                - {kind: component, id: dw, executor: {type: sql, target: warehouse}}
                - {kind: configuration, component: dw, id: load, parameters: {sql: "CREATE TABLE loaded_over_tls (x int)"}}
                """)
        let worker = try BatonProcess(["worker", "--sql-target", "warehouse=TLS_WAREHOUSE_URL"], databaseURL: url,
                                      environment: ["TLS_WAREHOUSE_URL": server.url("sslmode=verify-full&sslrootcert=\(server.ca)")])
        defer { worker.stop() }
        try await Store.withStore(url: url, logger: TestPostgres.shared.logger) { store in
            let job = try await store.createJobs(componentId: "dw", configId: "load")[0]
            let done = try await store.waitForFinal([job.id])[0]
            #expect(done.status == .success, "\(done.result?.jsonText ?? "")")
        }
    }
}
