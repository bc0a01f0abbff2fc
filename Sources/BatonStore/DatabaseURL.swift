import BatonModel
import Foundation
import PostgresNIO

/// Reads `postgres://user:password@host:port/database[?host=/socket/dir]` into a client configuration.
public enum DatabaseURL {
    public static func configuration(_ text: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: text),
              components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw BatonError(.invalidInput, "database URL must look like postgres://user@host:port/database, got '\(redacted(text))'", field: "DATABASE_URL")
        }
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
        var database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        if database.isEmpty { database = user }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            let port = components.port ?? 5432
            return .init(unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        }
        guard let host = components.host, !host.isEmpty else {
            throw BatonError(.invalidInput, "database URL has no host: \(redacted(text))", field: "DATABASE_URL")
        }
        return .init(host: host, port: components.port ?? 5432, username: user, password: password, database: database, tls: .disable)
    }

    /// The same target as a single-connection configuration.
    public static func connectionConfiguration(_ text: String) throws -> PostgresConnection.Configuration {
        let pool = try configuration(text)
        if let socket = pool.unixSocketPath {
            return .init(unixSocketPath: socket, username: pool.username, password: pool.password, database: pool.database)
        }
        return .init(host: pool.host ?? "127.0.0.1", port: pool.port ?? 5432, username: pool.username, password: pool.password, database: pool.database, tls: .disable)
    }

    /// The URL with its password hidden, for messages and logs.
    public static func redacted(_ text: String) -> String {
        guard var components = URLComponents(string: text), components.password != nil else { return text }
        components.password = "***"
        return components.string ?? "postgres://***"
    }
}
