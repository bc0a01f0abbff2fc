import Foundation

/// Secrets the Keboola way: a key that starts with `#` holds a secret (`"#password": "..."`), in
/// a configuration's parameters, a job's `configData`, and an executor's settings
/// (`environment: {"#API_KEY": ...}`, `headers: {"#Authorization": ...}`, `#databaseUrl`).
///
/// These are the rules over values; the cipher (AES-GCM, with the operator's key) is
/// `SecretKeyring` in BatonStore. A stored secret is a *sealed* string, `BATON::ENC::KEYID::...`;
/// it is what the API, the console and the CLI show, and only a worker opens it, for the job.
public enum Secrets {
    /// How a sealed value starts.
    public static let sealedPrefix = "BATON::ENC::"
    /// What a masked value reads as.
    public static let mask = "***"
    /// Known secret values shorter than this are not masked in a job's output: every "a" or "1"
    /// of the output would go, and so short a secret is no secret anyway.
    public static let minimumMaskedLength = 4

    public static func isSecretKey(_ key: String) -> Bool { key.count > 1 && key.hasPrefix("#") }

    public static func isSealed(_ value: String) -> Bool { value.hasPrefix(sealedPrefix) }

    /// `json` with `transform` applied to every string held under a `#` key, at any depth (under
    /// a `#` key whose value is an object or an array, every string inside it is a secret too).
    public static func mapSecretValues(_ json: JSONValue, _ transform: (String) throws -> String) rethrows -> JSONValue {
        try map(json, inSecret: false, transform)
    }

    private static func map(_ json: JSONValue, inSecret: Bool, _ transform: (String) throws -> String) rethrows -> JSONValue {
        switch json {
        case .string(let text):
            return inSecret ? .string(try transform(text)) : json
        case .array(let items):
            return .array(try items.map { try map($0, inSecret: inSecret, transform) })
        case .object(let object):
            var out: [String: JSONValue] = [:]
            for (key, value) in object { out[key] = try map(value, inSecret: inSecret || isSecretKey(key), transform) }
            return .object(out)
        default:
            return json
        }
    }

    /// Every string value held under a `#` key.
    public static func secretValues(_ json: JSONValue) -> [String] {
        var found: [String] = []
        _ = mapSecretValues(json) { found.append($0); return $0 }
        return found
    }

    /// Whether `json` holds a secret that is not sealed (what must never be stored).
    public static func hasPlainSecret(_ json: JSONValue) -> Bool {
        secretValues(json).contains { !isSealed($0) }
    }

    /// `json` as anyone may see it: sealed secrets stay (they are opaque), any other value under a
    /// `#` key (stored before encryption was set up) reads `***`.
    public static func masked(_ json: JSONValue) -> JSONValue {
        mapSecretValues(json) { isSealed($0) ? $0 : mask }
    }

    /// `text` with every occurrence of the known secret `values` replaced by `***`, longest first
    /// (so a secret that contains another is masked whole).
    public static func maskValues(in text: String, _ values: [String]) -> String {
        var out = text
        for value in maskable(values) where out.contains(value) {
            out = out.replacingOccurrences(of: value, with: mask)
        }
        return out
    }

    /// Every string of `json` (keys too) with the known secret `values` masked.
    public static func maskValues(in json: JSONValue, _ values: [String]) -> JSONValue {
        let values = maskable(values)
        guard !values.isEmpty else { return json }
        func walk(_ json: JSONValue) -> JSONValue {
            switch json {
            case .string(let text): return .string(maskValues(in: text, values))
            case .array(let items): return .array(items.map(walk))
            case .object(let object):
                return .object(Dictionary(object.map { (maskValues(in: $0.key, values), walk($0.value)) }, uniquingKeysWith: { first, _ in first }))
            default: return json
            }
        }
        return walk(json)
    }

    /// The values worth masking, longest first, each once.
    public static func maskable(_ values: [String]) -> [String] {
        Array(Set(values.filter { $0.count >= minimumMaskedLength })).sorted { $0.count == $1.count ? $0 < $1 : $0.count > $1.count }
    }

    /// The name a `#` key stands for where the `#` cannot go: `#API_KEY` is the environment
    /// variable `API_KEY`, `#Authorization` the header `Authorization`.
    public static func plainName(_ key: String) -> String { isSecretKey(key) ? String(key.dropFirst()) : key }
}
