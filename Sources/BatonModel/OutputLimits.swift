/// What a job's output may be before it reaches PostgreSQL, and how it is made safe.
///
/// PostgreSQL refuses a NUL byte in `text` and `\u0000` in `jsonb`; invalid UTF-8 cannot be
/// stored either. One such line used to fail the statement that recorded a job's outcome, and a
/// worker retried that statement for ever. Lines, events and results are therefore cleaned and
/// capped in the worker, and what was changed is counted in the job's result (`output`).
public enum OutputLimits {
    /// The longest line kept as an event, in bytes of UTF-8; the rest of the line is dropped
    /// (and counted) up to its newline.
    public static let lineBytes = 64 * 1024
    /// The most output lines recorded as events per attempt of a job; later ones are counted and
    /// a closing event says how many were not recorded. The tail kept for the result still shows
    /// the last lines.
    public static let eventsPerJob = 10_000
    /// The longest line kept in a result's `output` (the last lines of a process).
    public static let resultLineBytes = 1024
    /// The largest result, as JSON text; a larger one keeps its message and reason, cut.
    public static let resultBytes = 64 * 1024
    /// Parameters up to this size (JSON text) also go in `BATON_PARAMETERS`; larger ones only on
    /// stdin and in `BATON_PARAMETERS_FILE` (Linux refuses an environment string over 128 KiB).
    public static let environmentParameterBytes = 64 * 1024

    /// One output line made safe to store: NUL bytes and invalid UTF-8 become U+FFFD.
    public struct Line: Sendable, Equatable {
        public var text: String
        public var nulBytes: Int
        public var invalidUTF8: Bool

        public init(text: String, nulBytes: Int, invalidUTF8: Bool) {
            self.text = text
            self.nulBytes = nulBytes
            self.invalidUTF8 = invalidUTF8
        }
    }

    /// Decodes `bytes` (one line without its newline, at most `lineBytes` long) as UTF-8,
    /// replacing NUL and every invalid sequence with U+FFFD.
    public static func line<Bytes: Collection>(_ bytes: Bytes) -> Line where Bytes.Element == UInt8 {
        var nul = 0
        var cleaned: [UInt8] = []
        cleaned.reserveCapacity(bytes.count)
        for byte in bytes {
            if byte == 0 {
                nul += 1
                cleaned.append(contentsOf: [0xEF, 0xBF, 0xBD])
            } else {
                cleaned.append(byte)
            }
        }
        if cleaned.last == 0x0D { cleaned.removeLast() } // CRLF
        if let valid = String(validating: cleaned, as: UTF8.self) {
            return Line(text: valid, nulBytes: nul, invalidUTF8: false)
        }
        return Line(text: String(decoding: cleaned, as: UTF8.self), nulBytes: nul, invalidUTF8: true)
    }

    /// `text` without NUL characters (a string from anywhere: an HTTP body, an error message).
    public static func clean(_ text: String) -> String {
        text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }

    /// `text` cut to at most `bytes` of UTF-8, on a character boundary, with a note of what went.
    public static func cut(_ text: String, bytes: Int) -> String {
        let utf8 = Array(text.utf8)
        guard utf8.count > bytes else { return text }
        var end = bytes
        while end > 0 && utf8[end] & 0xC0 == 0x80 { end -= 1 } // not inside a character
        return String(decoding: utf8[..<end], as: UTF8.self) + " [cut: \(utf8.count - end) more bytes]"
    }

    /// A result safe to store: strings without NUL, `output` lines cut to `resultLineBytes`, and
    /// the whole at most `resultBytes` of JSON (then only its message, reason, exit code and
    /// status code stay, each cut, with `"truncated": true`).
    public static func result(_ value: JSONValue) -> JSONValue {
        var value = value.withoutNUL
        if case .object(var object) = value, case .array(let lines)? = object["output"] {
            object["output"] = .array(lines.map { line in line.stringValue.map { .string(cut($0, bytes: resultLineBytes)) } ?? line })
            value = .object(object)
        }
        guard value.jsonText.utf8.count > resultBytes else { return value }
        var kept: [String: JSONValue] = ["truncated": true]
        for key in ["message", "reason", "exitCode", "statusCode", "output"] {
            guard let field = value[key] else { continue }
            switch field {
            case .string(let text): kept[key] = .string(cut(text, bytes: 4096))
            case .array(let lines): kept[key] = .array(Array(lines.suffix(5)))
            default: kept[key] = field
            }
        }
        return .object(kept)
    }
}

extension JSONValue {
    /// This value with every NUL character in its strings and keys replaced by U+FFFD.
    public var withoutNUL: JSONValue {
        switch self {
        case .string(let text): return .string(OutputLimits.clean(text))
        case .array(let values): return .array(values.map(\.withoutNUL))
        case .object(let object):
            return .object(Dictionary(object.map { (OutputLimits.clean($0.key), $0.value.withoutNUL) }, uniquingKeysWith: { first, _ in first }))
        default: return self
        }
    }
}

/// Splits a stream of bytes into lines of at most `OutputLimits.lineBytes`, made safe to store;
/// the part of a line past the limit is dropped and counted, so a 10 MB line costs 64 KiB of
/// memory.
public struct LineSplitter: Sendable {
    /// A line, and how many bytes of it were dropped past the limit.
    public struct Piece: Sendable, Equatable {
        public var line: OutputLimits.Line
        public var droppedBytes: Int
    }

    private let limit: Int
    private var current: [UInt8] = []
    private var dropped = 0

    public init(limit: Int = OutputLimits.lineBytes) {
        self.limit = limit
    }

    /// The lines that `chunk` completes.
    public mutating func feed<Bytes: Collection>(_ chunk: Bytes) -> [Piece] where Bytes.Element == UInt8 {
        var pieces: [Piece] = []
        for byte in chunk {
            if byte == 0x0A {
                pieces.append(take())
            } else if current.count < limit {
                current.append(byte)
            } else {
                dropped += 1
            }
        }
        return pieces
    }

    /// The last line when the stream ended without a newline.
    public mutating func finish() -> Piece? {
        current.isEmpty && dropped == 0 ? nil : take()
    }

    private mutating func take() -> Piece {
        var bytes = current[...]
        if dropped > 0 {
            // Room for the note of what went, within the limit; and do not end inside a character.
            var end = min(bytes.endIndex, bytes.startIndex + limit - 64)
            var lead = end
            while lead > bytes.startIndex && bytes[lead - 1] & 0xC0 == 0x80 { lead -= 1 }
            if lead > bytes.startIndex && bytes[lead - 1] >= 0xC0 {
                let first = bytes[lead - 1]
                let length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : 2
                if lead - 1 + length > end { end = lead - 1 } // the last character would be cut: leave it out
            }
            dropped += bytes.endIndex - end
            bytes = bytes[..<end]
        }
        var line = OutputLimits.line(bytes)
        if dropped > 0 { line.text += " [line cut: \(dropped) more bytes]" }
        let piece = Piece(line: line, droppedBytes: dropped)
        current.removeAll(keepingCapacity: current.capacity <= 4096)
        dropped = 0
        return piece
    }
}
