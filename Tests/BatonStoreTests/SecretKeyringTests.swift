import BatonModel
import BatonStore
import BatonTesting
import Foundation
import Testing

@Suite("secrets sealed with the operator's keys")
struct SecretKeyringTests {
    let logger = TestPostgres.shared.logger
    static func key(_ id: String, _ seed: UInt8) -> String { "\(id):" + Data((0..<32).map { UInt8($0) &* seed &+ 1 }).base64EncodedString() }

    @Test("a sealed value opens with its key for its project only; a damaged or foreign one does not")
    func sealAndOpen() throws {
        let keyring = try SecretKeyring(parsing: Self.key("k1", 3))
        let sealed = try keyring.seal("hunter22", projectId: "a")
        #expect(sealed.hasPrefix("BATON::ENC::k1::") && !sealed.contains("hunter22"))
        #expect(try keyring.open(sealed, projectId: "a") == "hunter22")
        #expect(throws: BatonError.self) { try keyring.open(sealed, projectId: "b") }
        #expect(throws: BatonError.self) { try keyring.open(String(sealed.dropLast(4)) + "AAAA", projectId: "a") }
        #expect(throws: BatonError.self) { try SecretKeyring(parsing: Self.key("k2", 5)).open(sealed, projectId: "a") }
        #expect(try keyring.seal("hunter22", projectId: "a") != sealed, "a fresh nonce each time")
        #expect(throws: BatonError.self) { try SecretKeyring(parsing: "k1:short") }
        #expect(throws: BatonError.self) { try SecretKeyring(parsing: Self.key("k1", 3) + "," + Self.key("k1", 5)) }
        #expect(try SecretKeyring.fromEnvironment([:]) == nil)
        #expect(try SecretKeyring(parsing: SecretKeyring.generateKey(id: "new")).keys.first?.id == "new")

        let json: JSONValue = ["user": "ana", "#password": "hunter22"]
        let stored = try keyring.sealSecrets(in: json, projectId: "a")
        #expect(stored["user"] == "ana" && stored["#password"]?.stringValue?.hasPrefix("BATON::ENC::") == true)
        #expect(try keyring.sealSecrets(in: stored, projectId: "a") == stored, "sealed values are kept")
        #expect(throws: BatonError.self) { try keyring.sealSecrets(in: stored, projectId: "b") }
        let (opened, values) = try keyring.openSecrets(in: stored, projectId: "a")
        #expect(opened == json && values == ["hunter22"])
        #expect(throws: BatonError.self) { try Optional<SecretKeyring>.none.sealing(json, projectId: "a", field: "parameters") }
    }

    @Test("rotation: with a new key first, reseal seals every stored secret with it, and the old key can go")
    func rotation() async throws {
        let url = try await TestPostgres.shared.makeDatabase("keyrotation")
        let old = try SecretKeyring(parsing: Self.key("k1", 3))
        let both = try SecretKeyring(parsing: Self.key("k2", 7) + "," + Self.key("k1", 3))
        let new = try SecretKeyring(parsing: Self.key("k2", 7))
        let store = try Store(url: url, logger: logger, secrets: .some(old))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.runPool() }
            defer { group.cancelAll() }
            await store.poolStarted()
            let executor = try old.sealSecrets(in: ["type": "process", "command": ["true"], "environment": ["#KEY": "k-secret-1"]], projectId: "default")
            let parameters = try old.sealSecrets(in: ["#password": "p-secret-2"], projectId: "default")
            try await store.client.query("INSERT INTO components (project_id, id, executor) VALUES ('default', 'p', \(executor.jsonText)::jsonb)", logger: logger)
            try await store.client.query("INSERT INTO configurations (project_id, component_id, id, name, parameters) VALUES ('default', 'p', 'c', 'c', \(parameters.jsonText)::jsonb)", logger: logger)
            let job = try await store.createJobs(componentId: "p", configId: "c")[0]
            #expect(job.parameters["#password"]?.stringValue?.hasPrefix("BATON::ENC::k1::") == true)
        }
        let rotating = try Store(url: url, logger: logger, secrets: .some(both))
        let counts = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await rotating.runPool() }
            defer { group.cancelAll() }
            await rotating.poolStarted()
            return try await rotating.resealSecrets()
        }
        #expect(counts.components == 1 && counts.configurations == 1 && counts.jobs == 1)
        try await Store.withStore(url: url, logger: logger) { store in
            let executor = try #require(try await store.components(projectId: "default").first { $0.id == "p" }?.executor)
            #expect(try new.openSecrets(in: executor, projectId: "default").values == ["k-secret-1"])
            let parameters = try #require(try await store.configurations(projectId: "default", componentId: "p").first?.parameters)
            #expect(try new.openSecrets(in: parameters, projectId: "default").values == ["p-secret-2"])
            let job = try #require(try await store.jobs(JobFilter(projectId: "default")).first)
            #expect(try new.openSecrets(in: job.parameters, projectId: "default").values == ["p-secret-2"])
        }
    }
}
