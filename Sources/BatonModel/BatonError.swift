/// An error a person can act on: a code, what it concerns, and a message that says the fix.
/// Database error text never goes into `message`.
public struct BatonError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        public static let invalidInput = Code(raw: "invalid-input")
        public static let notFound = Code(raw: "not-found")
        public static let conflict = Code(raw: "conflict")
        public static let unavailable = Code(raw: "unavailable")
        public static let environment = Code(raw: "environment")
        public static let unauthorized = Code(raw: "unauthorized")
        public static let forbidden = Code(raw: "forbidden")
        /// The database refused what it was asked to store (the data, not the connection).
        public static let refused = Code(raw: "refused")
        /// A request body over the API's limit.
        public static let tooLarge = Code(raw: "too-large")
        /// Something failed that the caller cannot fix; the server log has the details.
        public static let `internal` = Code(raw: "internal")
        public var description: String { raw }
        public var rawValue: String { raw }
    }

    public var code: Code
    public var message: String
    /// The input field at fault, where there is one.
    public var field: String?
    /// Individual problems when several were found at once.
    public var details: [String]

    public init(_ code: Code, _ message: String, field: String? = nil, details: [String] = []) {
        self.code = code
        self.message = message
        self.field = field
        self.details = details
    }

    public var description: String {
        ([message] + details.map { "  - \($0)" }).joined(separator: "\n")
    }
}
