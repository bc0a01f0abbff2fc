import Foundation
import Logging
import Synchronization

/// `--log-format json`: one JSON object per log event on stderr, for log shippers:
/// `{"time", "level", "label", "message", "source", ...metadata}` (metadata keys as given, such
/// as `baton.job_id`).
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    private static let lock = Mutex<Void>(())

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: Any] = [:]
        for (key, value) in metadata { object[key] = Self.plain(value) }
        for (key, value) in metadataProvider?.get() ?? [:] { object[key] = Self.plain(value) }
        for (key, value) in event.metadata ?? [:] { object[key] = Self.plain(value) }
        object["time"] = Self.timestamp()
        object["level"] = event.level.rawValue
        object["label"] = label
        object["message"] = "\(event.message)"
        object["source"] = event.source
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(UInt8(ascii: "\n"))
        Self.lock.withLock { _ in FileHandle.standardError.write(data) }
    }

    static func plain(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let items): items.map(plain)
        case .dictionary(let dictionary): dictionary.mapValues(plain)
        }
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
