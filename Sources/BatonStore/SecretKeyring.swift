import BatonModel
import Crypto
import Foundation

/// The operator's keys for secrets (`#` keys, see `Secrets`): AES-256-GCM, bound to the project.
///
/// `BATON_SECRET_KEYS="k2:BASE64,k1:BASE64"`: each key 32 random bytes in base64 (`baton secrets
/// generate-key` makes one), named by an id. The first key seals new secrets; every key opens
/// what it sealed, so rotation is: put a new key first, keep the old ones, run `baton secrets
/// reseal` (every stored secret sealed again with the first key), then drop the old keys.
///
/// A sealed value is `BATON::ENC::KEYID::BASE64(nonce | ciphertext | tag)`, with the project id
/// as authenticated data: a value copied into another project does not open there.
public struct SecretKeyring: Sendable {
    public struct Key: Sendable {
        public let id: String
        let key: SymmetricKey
    }

    public let keys: [Key]

    /// The environment variable the keys come from.
    public static let variable = "BATON_SECRET_KEYS"

    /// Parses `ID:BASE64[,ID:BASE64...]`.
    public init(parsing text: String) throws {
        var keys: [Key] = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, Identifier.isValid(parts[0], maxLength: 40), !parts[0].contains(":"),
                  let bytes = Data(base64Encoded: parts[1]), bytes.count == 32 else {
                throw BatonError(.invalidInput, "\(Self.variable) must be a comma-separated list of ID:KEY, each KEY 32 bytes in base64 ('baton secrets generate-key' makes one)", field: Self.variable)
            }
            guard !keys.contains(where: { $0.id == parts[0] }) else {
                throw BatonError(.invalidInput, "\(Self.variable) names key '\(parts[0])' twice", field: Self.variable)
            }
            keys.append(Key(id: parts[0], key: SymmetricKey(data: bytes)))
        }
        guard !keys.isEmpty else { throw BatonError(.invalidInput, "\(Self.variable) holds no key", field: Self.variable) }
        self.keys = keys
    }

    /// The keys of `BATON_SECRET_KEYS`, nil when it is unset or empty; throws when it is malformed.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SecretKeyring? {
        guard let text = environment[variable], !text.isEmpty else { return nil }
        return try SecretKeyring(parsing: text)
    }

    /// A new key for `BATON_SECRET_KEYS`: `ID:BASE64`.
    public static func generateKey(id: String) -> String {
        "\(id):" + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    static func associatedData(_ projectId: String) -> Data { Data("baton-secret:v1:\(projectId)".utf8) }

    public func seal(_ plaintext: String, projectId: String) throws -> String {
        let key = keys[0]
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: key.key, authenticating: Self.associatedData(projectId))
        guard let combined = box.combined else { throw BatonError(.internal, "AES-GCM gave no combined form") }
        return "\(Secrets.sealedPrefix)\(key.id)::\(combined.base64EncodedString())"
    }

    public func open(_ sealed: String, projectId: String) throws -> String {
        guard Secrets.isSealed(sealed) else { return sealed }
        let rest = sealed.dropFirst(Secrets.sealedPrefix.count)
        guard let separator = rest.range(of: "::"), let data = Data(base64Encoded: String(rest[separator.upperBound...])) else {
            throw BatonError(.invalidInput, "a sealed secret is damaged (expected \(Secrets.sealedPrefix)KEYID::BASE64)")
        }
        let id = String(rest[..<separator.lowerBound])
        guard let key = keys.first(where: { $0.id == id }) else {
            throw BatonError(.environment, "a secret was sealed with key '\(id)', which \(Self.variable) does not hold")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: data)
            let plain = try AES.GCM.open(box, using: key.key, authenticating: Self.associatedData(projectId))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw BatonError(.invalidInput, "a secret does not open with key '\(id)' for project '\(projectId)': it was sealed for another project, or it was altered")
        }
    }

    /// `json` with every plain `#` value sealed; sealed values are checked (they must open for
    /// this project) and sealed again only when `reseal` is set (key rotation).
    public func sealSecrets(in json: JSONValue, projectId: String, reseal: Bool = false) throws -> JSONValue {
        try Secrets.mapSecretValues(json) { value in
            if Secrets.isSealed(value) {
                let plain = try open(value, projectId: projectId)
                return reseal ? try seal(plain, projectId: projectId) : value
            }
            return try seal(value, projectId: projectId)
        }
    }

    /// `json` with every `#` value opened, and the plain values (to mask them in the job's output).
    public func openSecrets(in json: JSONValue, projectId: String) throws -> (json: JSONValue, values: [String]) {
        var values: [String] = []
        let opened = try Secrets.mapSecretValues(json) { value in
            let plain = try open(value, projectId: projectId)
            values.append(plain)
            return plain
        }
        return (opened, values)
    }
}

extension Optional where Wrapped == SecretKeyring {
    /// `json` ready to store: plain `#` values sealed. Without keys, a plain secret is refused: it
    /// would be stored as it is.
    public func sealing(_ json: JSONValue, projectId: String, field: String) throws -> JSONValue {
        if let keyring = self { return try keyring.sealSecrets(in: json, projectId: projectId) }
        guard !Secrets.hasPlainSecret(json) else {
            throw BatonError(.invalidInput, "\(field) holds a secret (a key starting with #), and secrets are stored only encrypted: set \(SecretKeyring.variable) for every baton process (README, Secrets)", field: field)
        }
        return json
    }
}

extension Store {
    /// Seals every stored secret again with the first key (rotation), and seals secrets stored in
    /// plain text before encryption was set up: components, configurations and jobs, each row in
    /// its own short statement. Returns how many rows changed.
    public func resealSecrets() async throws -> (components: Int, configurations: Int, jobs: Int) {
        guard let keyring = secrets else {
            throw BatonError(.invalidInput, "set \(SecretKeyring.variable) (the new key first, then the old ones) to seal secrets", field: SecretKeyring.variable)
        }
        var counts = (components: 0, configurations: 0, jobs: 0)
        var rows: [(String, String, String)] = []
        for try await row in try await client.query("SELECT project_id, id, executor::text FROM components WHERE executor::text LIKE '%\"#%'", logger: logger).decode((String, String, String).self) {
            rows.append(row)
        }
        for (project, id, text) in rows {
            let json = try JSONValue.parse(text)
            let sealed = try keyring.sealSecrets(in: json, projectId: project, reseal: true)
            try await client.run("UPDATE components SET executor = \(sealed.jsonText)::jsonb WHERE project_id = \(project) AND id = \(id)", logger: logger)
            counts.components += 1
        }
        var configurations: [(String, String, String, String)] = []
        for try await row in try await client.query("SELECT project_id, component_id, id, parameters::text FROM configurations WHERE parameters::text LIKE '%\"#%'", logger: logger).decode((String, String, String, String).self) {
            configurations.append(row)
        }
        for (project, component, id, text) in configurations {
            let sealed = try keyring.sealSecrets(in: try JSONValue.parse(text), projectId: project, reseal: true)
            try await client.run("UPDATE configurations SET parameters = \(sealed.jsonText)::jsonb WHERE project_id = \(project) AND component_id = \(component) AND id = \(id)", logger: logger)
            counts.configurations += 1
        }
        var after: Int64 = 0
        while true {
            var jobs: [(Int64, String, String, String, String?)] = []
            for try await row in try await client.query("""
                SELECT id, project_id, parameters::text, executor::text, config_data::text FROM jobs
                WHERE id > \(after) AND (parameters::text LIKE '%"#%' OR executor::text LIKE '%"#%' OR config_data::text LIKE '%"#%')
                ORDER BY id LIMIT 500
                """, logger: logger).decode((Int64, String, String, String, String?).self) { jobs.append(row) }
            guard let last = jobs.last else { break }
            after = last.0
            for (id, project, parameters, executor, data) in jobs {
                let p = try keyring.sealSecrets(in: try JSONValue.parse(parameters), projectId: project, reseal: true)
                let e = try keyring.sealSecrets(in: try JSONValue.parse(executor), projectId: project, reseal: true)
                let d = try data.map { try keyring.sealSecrets(in: try JSONValue.parse($0), projectId: project, reseal: true) }
                try await client.run("UPDATE jobs SET parameters = \(p.jsonText)::jsonb, executor = \(e.jsonText)::jsonb, config_data = \(d?.jsonText)::jsonb WHERE id = \(id)", logger: logger)
                counts.jobs += 1
            }
        }
        return counts
    }
}
