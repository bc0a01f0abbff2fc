import BatonEngine
import BatonModel
import BatonStore
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore

/// The HTTP API (`baton api`): Keboola's Queue API field names under `/v1`, token auth, JSON
/// errors `{error, code, field?, details?}`.
///
/// Where things are: the routes and who may call them in Routes.swift, tokens in Auth.swift,
/// errors and their status codes in Errors.swift, each resource's handlers in its own file
/// (JobRoutes.swift, OrchestrationRoutes.swift, ...), the web console in Console.swift.
public struct API: Sendable {
    public static let maxBodyBytes = 1_048_576
    public static let maxPageSize = 500

    public struct Configuration: Sendable {
        /// The URL people reach the console at (`--public-url`), e.g. `https://baton.example.com`:
        /// the only origin console forms are taken from, and https makes its cookies Secure.
        /// Default nil: the origin each request was sent to.
        public var publicURL: String? = nil
        /// How long a console session lasts, in seconds. Default 12 hours.
        public var sessionLifetime: Double = 12 * 3600
        /// The bearer token `/metrics` asks for (`BATON_METRICS_TOKEN`). Default nil: the API's
        /// `/metrics` answers 401 (serve metrics on their own port with `--metrics-port`).
        public var metricsToken: String? = nil

        public init() {}

        public func validated() throws -> Configuration {
            if let publicURL {
                guard let components = URLComponents(string: publicURL), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
                      components.host?.isEmpty == false else {
                    throw BatonError(.invalidInput, "public URL must be http(s)://HOST[:PORT], got '\(publicURL)'", field: "public-url")
                }
            }
            guard sessionLifetime >= 60, sessionLifetime <= 30 * 86_400 else {
                throw BatonError(.invalidInput, "a console session lasts from 1 minute to 30 days", field: "session-hours")
            }
            if let metricsToken, metricsToken.count < 16 {
                throw BatonError(.invalidInput, "BATON_METRICS_TOKEN must be at least 16 characters", field: "BATON_METRICS_TOKEN")
            }
            return self
        }
    }

    let store: Store
    let logger: Logger
    let openAPI: String?
    public let configuration: Configuration
    let queueGauges = QueueDepthGauges()

    public init(store: Store, logger: Logger, openAPI: String?, configuration: Configuration = .init()) {
        self.store = store
        self.logger = logger
        self.openAPI = openAPI
        self.configuration = configuration
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        for route in API.routes {
            router.on(RouterPath(route.path), method: route.method) { request, context in
                await self.respond(route, request, context)
            }
        }
        Console(api: self).add(to: router)
        return router
    }

    /// Authenticates, authorizes, reads the body, runs the handler; every failure becomes the
    /// JSON error of Errors.swift. Token routes count their answers by status code.
    func respond(_ route: Route, _ request: Request, _ context: BasicRequestContext) async -> Response {
        let response: Response
        do {
            // PostgreSQL's text holds no NUL character: refuse it here, as bad input.
            if request.uri.description.contains("%00") || request.uri.description.contains("\u{0}") {
                throw BatonError(.invalidInput, "the URL may not contain the NUL character (%00)", field: "url")
            }
            switch route.handler {
            case .open(let handler):
                response = try await handler(self, request)
            case .authenticated(let handler):
                let token = try await authenticate(request)
                try authorize(token, for: route, parameters: context.parameters)
                let body = route.method == .post || route.method == .put ? try await Self.body(request) : nil
                response = try await handler(self, Call(request: request, parameters: context.parameters, token: token, body: body))
            }
        } catch {
            response = errorResponse(visible(error, path: request.uri.path))
        }
        if route.scope == .read || route.scope == .admin {
            Counter(label: MetricNames.apiRequests, dimensions: [("code", String(response.status.code))]).increment()
        }
        return response
    }

    /// The request body as JSON; nil when it is empty.
    static func body(_ request: Request) async throws -> JSONValue? {
        let buffer = try await request.body.collect(upTo: API.maxBodyBytes)
        let text = String(buffer: buffer)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        let body: JSONValue
        do { body = try JSONValue.parse(text) } catch {
            throw BatonError(.invalidInput, "the request body is not valid JSON", field: "body")
        }
        if containsNUL(body) {
            throw BatonError(.invalidInput, "strings in the body may not contain the NUL character (\\u0000)", field: "body")
        }
        return body
    }
}

/// One authenticated request, as its handler sees it.
struct Call {
    let request: Request
    let parameters: Parameters
    let token: Token
    let body: JSONValue?

    func path(_ name: String) throws -> String {
        guard let value = parameters.get(name) else { throw BatonError(.invalidInput, "missing \(name) in the path", field: name) }
        return value
    }

    func jobId() throws -> Int64 {
        guard let id = Int64(try path("id")), id > 0 else { throw BatonError(.invalidInput, "job id must be a positive integer", field: "id") }
        return id
    }

    func query(_ name: String) -> String? { request.uri.queryParameters[Substring(name)].map(String.init) }

    /// Every value of a repeated or comma-separated query parameter.
    func queryAll(_ name: String) -> [String] {
        request.uri.queryParameters[values: Substring(name)].flatMap { $0.split(separator: ",").map(String.init) }
    }

    func bodyObject() throws -> [String: JSONValue] {
        guard let body else { return [:] }
        guard case .object(let object) = body else { throw BatonError(.invalidInput, "the request body must be a JSON object", field: "body") }
        return object
    }

    func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = query(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw BatonError(.invalidInput, "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound)", field: name)
        }
        return number
    }

    func date(_ name: String) throws -> Date? {
        guard let text = query(name) else { return nil }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        throw BatonError(.invalidInput, "\(name) must be an ISO 8601 time such as 2026-11-28T10:00:00Z", field: name)
    }

    /// Task ids in a body field: an array of strings (or integral numbers); none when absent.
    func taskIds(_ field: String) throws -> [String] {
        let value = try bodyObject()[field]
        guard let value, value != .null else { return [] }
        guard case .array(let items) = value else { throw BatonError(.invalidInput, "\(field) must be an array of task ids", field: field) }
        return try items.map {
            switch $0 {
            case .string(let text): return text
            case .number(let number) where number == number.rounded() && abs(number) < 9.0e18: return String(Int64(number))
            default: throw BatonError(.invalidInput, "\(field) must be an array of task ids", field: field)
            }
        }
    }
}

/// Whether a string or key anywhere in `value` holds U+0000, which PostgreSQL cannot store.
func containsNUL(_ value: JSONValue) -> Bool {
    switch value {
    case .string(let text): return text.unicodeScalars.contains("\u{0}")
    case .array(let items): return items.contains(where: containsNUL)
    case .object(let object): return object.contains { $0.key.unicodeScalars.contains("\u{0}") || containsNUL($0.value) }
    default: return false
    }
}

func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
    Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
             body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
}
