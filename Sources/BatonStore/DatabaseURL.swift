import BatonModel
import Foundation
import NIOSSL
import PostgresNIO

/// Reads `postgres://user:password@host:port/database[?host=/socket/dir][&sslmode=...&sslrootcert=...]`
/// into a client configuration.
///
/// TLS follows libpq's `sslmode`: `disable` (never), `prefer` (the default: TLS when the server
/// offers it, unverified), `require` (TLS or nothing; unverified, unless `sslrootcert` is given,
/// then as `verify-ca`), `verify-ca` (the server's certificate must chain to `sslrootcert`),
/// `verify-full` (and name the host). `sslrootcert` is a PEM file of trusted certificate
/// authorities, or `system` for the system's (the default for the verify modes).
public enum DatabaseURL {
    /// libpq's `sslmode` values that Baton honours.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require, verifyCA = "verify-ca", verifyFull = "verify-full"
    }

    /// What a URL asks of TLS.
    public struct TLSSettings: Sendable, Equatable {
        public var mode: SSLMode = .prefer
        public var rootCertificate: String? = nil

        /// The NIOSSL configuration, or nil for `disable`.
        func configuration() throws -> TLSConfiguration? {
            var tls = TLSConfiguration.makeClientConfiguration()
            let verify: SSLMode = (mode == .require && rootCertificate != nil) ? .verifyCA : mode
            switch verify {
            case .disable: return nil
            case .prefer, .require: tls.certificateVerification = .none
            case .verifyCA: tls.certificateVerification = .noHostnameVerification
            case .verifyFull: tls.certificateVerification = .fullVerification
            }
            if let rootCertificate, rootCertificate != "system" {
                guard FileManager.default.isReadableFile(atPath: rootCertificate) else {
                    throw BatonError(.invalidInput, "sslrootcert \(rootCertificate) is not a readable file (a PEM file of the certificate authorities to trust, or 'system')", field: "DATABASE_URL")
                }
                tls.trustRoots = .file(rootCertificate)
            }
            return tls
        }
    }

    /// The TLS settings of a URL's query; throws for an sslmode Baton does not know.
    public static func tlsSettings(_ query: [String: String]) throws -> TLSSettings {
        var settings = TLSSettings()
        if let text = query["sslmode"] {
            guard let mode = SSLMode(rawValue: text) else {
                throw BatonError(.invalidInput, "sslmode '\(text)' is not one Baton knows: use \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))", field: "DATABASE_URL")
            }
            settings.mode = mode
        }
        if let root = query["sslrootcert"], !root.isEmpty { settings.rootCertificate = root }
        return settings
    }

    struct Parsed {
        var host: String?
        var socket: String?
        var port: Int
        var user: String
        var password: String?
        var database: String
        var tls: TLSSettings
    }

    static func parse(_ text: String) throws -> Parsed {
        guard let components = URLComponents(string: text),
              components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw BatonError(.invalidInput, "database URL must look like postgres://user@host:port/database, got '\(redacted(text))'", field: "DATABASE_URL")
        }
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
        var database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        if database.isEmpty { database = user }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let tls = try tlsSettings(query)
        let port = components.port ?? 5432
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            return Parsed(host: nil, socket: "\(socketDirectory)/.s.PGSQL.\(port)", port: port, user: user, password: password, database: database, tls: tls)
        }
        guard let host = components.host, !host.isEmpty else {
            throw BatonError(.invalidInput, "database URL has no host: \(redacted(text))", field: "DATABASE_URL")
        }
        // URLComponents keeps an IPv6 literal's brackets.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return Parsed(host: bare, socket: nil, port: port, user: user, password: password, database: database, tls: tls)
    }

    public static func configuration(_ text: String) throws -> PostgresClient.Configuration {
        let parsed = try parse(text)
        if let socket = parsed.socket {
            return .init(unixSocketPath: socket, username: parsed.user, password: parsed.password, database: parsed.database)
        }
        let tls: PostgresClient.Configuration.TLS
        switch (parsed.tls.mode, try parsed.tls.configuration()) {
        case (_, nil): tls = .disable
        case (.prefer, let configuration?): tls = .prefer(configuration)
        case (_, let configuration?): tls = .require(configuration)
        }
        return .init(host: parsed.host!, port: parsed.port, username: parsed.user, password: parsed.password, database: parsed.database, tls: tls)
    }

    /// The same target as a single-connection configuration.
    public static func connectionConfiguration(_ text: String) throws -> PostgresConnection.Configuration {
        let parsed = try parse(text)
        if let socket = parsed.socket {
            return .init(unixSocketPath: socket, username: parsed.user, password: parsed.password, database: parsed.database)
        }
        let tls: PostgresConnection.Configuration.TLS
        switch (parsed.tls.mode, try parsed.tls.configuration()) {
        case (_, nil): tls = .disable
        case (.prefer, let configuration?): tls = .prefer(try NIOSSLContext(configuration: configuration))
        case (_, let configuration?): tls = .require(try NIOSSLContext(configuration: configuration))
        }
        return .init(host: parsed.host!, port: parsed.port, username: parsed.user, password: parsed.password, database: parsed.database, tls: tls)
    }

    /// The host a URL connects to (nil for a Unix socket), for the outbound policy of `sql` targets.
    public static func host(_ text: String) throws -> String? { try parse(text).host }

    /// The URL with its password hidden, for messages and logs.
    public static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "postgres://***"
    }
}
