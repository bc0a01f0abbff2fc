import BatonModel
import Hummingbird

extension API {
    /// One route of the API: its method, its path (OpenAPI style, `{id}`; Hummingbird routes the same
    /// text), who may call it and what answers it. `API.routes` is the only list of routes: the
    /// router, authorization, the console's scope checks and the openapi.yaml test all read it.
    public struct Route: Sendable {
        /// The token a route needs.
        public enum Scope: Sendable, Hashable {
            /// None: health, readiness and the OpenAPI document.
            case open
            /// The metrics token (`BATON_METRICS_TOKEN`), never a project's token: `/metrics`
            /// names every project.
            case metrics
            /// Admin and read tokens.
            case read
            /// Admin tokens.
            case admin
        }

        /// What a trigger token (`trigger:ORCH`) may do on a route, beyond its scope.
        public enum TriggerAccess: Sendable, Hashable {
            /// Nothing.
            case refused
            /// Call it; the handler shows only the runs of the token's orchestration (and their tasks).
            case itsRuns
            /// Call it when the path's `{id}` is the token's orchestration.
            case itsOrchestration
        }

        enum Handler: Sendable {
            case open(@Sendable (API, Request) async throws -> Response)
            case authenticated(@Sendable (API, Call) async throws -> Response)
        }

        public let method: HTTPRequest.Method
        public let path: String
        public let scope: Scope
        public let trigger: TriggerAccess
        let handler: Handler

        /// A route that needs a token of `scope` (`.read` or `.admin`).
        init(_ method: HTTPRequest.Method, _ path: String, _ scope: Scope, trigger: TriggerAccess = .refused,
             _ handler: @escaping @Sendable (API, Call) async throws -> Response) {
            precondition(scope == .read || scope == .admin, "a route without a project token takes no call: use Route.open")
            self.method = method
            self.path = path
            self.scope = scope
            self.trigger = trigger
            self.handler = .authenticated(handler)
        }

        /// A route that needs no project token (`.open`, or `.metrics`: its handler checks the metrics token).
        static func open(_ method: HTTPRequest.Method, _ path: String, scope: Scope = .open,
                         _ handler: @escaping @Sendable (API, Request) async throws -> Response) -> Route {
            Route(method: method, path: path, scope: scope, handler: handler)
        }

        private init(method: HTTPRequest.Method, path: String, scope: Scope, handler: @escaping @Sendable (API, Request) async throws -> Response) {
            self.method = method
            self.path = path
            self.scope = scope
            self.trigger = .refused
            self.handler = .open(handler)
        }
    }
}

extension API {
    /// Every route of the API. Each is described in openapi.yaml (a test checks both directions).
    public static let routes: [Route] = [
        // ServiceRoutes.swift
        .open(.get, "/healthz") { _, _ in json(.ok, ["status": "ok"]) },
        .open(.get, "/readyz") { api, _ in try await api.ready() },
        .open(.get, "/metrics", scope: .metrics) { try await $0.metrics($1) },
        .open(.get, "/openapi.yaml") { api, _ in try api.document() },
        // JobRoutes.swift
        Route(.post, "/v1/jobs", .admin) { try await $0.createJob($1) },
        Route(.get, "/v1/jobs", .read, trigger: .itsRuns) { try await $0.searchJobs($1) },
        Route(.get, "/v1/jobs/counts", .read, trigger: .itsRuns) { try await $0.countJobs($1) },
        Route(.post, "/v1/jobs/kill", .admin) { try await $0.killMatching($1) },
        Route(.post, "/v1/jobs/retry", .admin) { try await $0.retryMatching($1) },
        Route(.get, "/v1/jobs/{id}", .read, trigger: .itsRuns) { try await $0.getJob($1) },
        Route(.post, "/v1/jobs/{id}/kill", .admin) { try await $0.killJob($1) },
        Route(.get, "/v1/jobs/{id}/events", .read, trigger: .itsRuns) { try await $0.jobEvents($1) },
        Route(.get, "/v1/jobs/{id}/retry-plan", .read) { try await $0.retryPlan($1) },
        Route(.post, "/v1/jobs/{id}/retry", .admin) { try await $0.retry($1) },
        // NotificationRoutes.swift
        Route(.get, "/v1/jobs/{id}/notifications", .read) { try await $0.jobNotifications($1) },
        // ScheduleRoutes.swift
        Route(.get, "/v1/schedules", .read) { try await $0.listSchedules($1) },
        // OperationsRoutes.swift
        Route(.post, "/v1/schedules/{id}/enable", .admin) { try await $0.switchSchedule($1, enabled: true) },
        Route(.post, "/v1/schedules/{id}/disable", .admin) { try await $0.switchSchedule($1, enabled: false) },
        Route(.post, "/v1/schedules/{id}/run", .admin) { try await $0.runSchedule($1) },
        Route(.get, "/v1/pauses", .read) { try await $0.listPauses($1) },
        Route(.put, "/v1/pauses", .admin) { try await $0.putPause($1) },
        Route(.delete, "/v1/pauses", .admin) { try await $0.deletePause($1) },
        Route(.get, "/v1/queue", .read) { try await $0.queue($1) },
        // OrchestrationRoutes.swift
        Route(.get, "/v1/orchestrations", .read, trigger: .itsRuns) { try await $0.listOrchestrations($1) },
        Route(.get, "/v1/orchestrations/{id}", .read, trigger: .itsOrchestration) { try await $0.getOrchestration($1) },
        Route(.put, "/v1/orchestrations/{id}", .admin) { try await $0.putOrchestration($1) },
        Route(.delete, "/v1/orchestrations/{id}", .admin) { try await $0.deleteOrchestration($1) },
        Route(.get, "/v1/orchestrations/{id}/plan", .read, trigger: .itsOrchestration) { try await $0.plan($1) },
        Route(.post, "/v1/orchestrations/{id}/jobs", .admin, trigger: .itsOrchestration) { try await $0.runOrchestration($1) },
        // ComponentRoutes.swift
        Route(.get, "/v1/components", .read) { try await $0.listComponents($1) },
        Route(.get, "/v1/components/{component}", .read) { try await $0.getComponent($1) },
        Route(.put, "/v1/components/{component}", .admin) { try await $0.putComponent($1) },
        Route(.delete, "/v1/components/{component}", .admin) { try await $0.deleteComponent($1) },
        // ConfigurationRoutes.swift
        Route(.get, "/v1/components/{component}/configurations", .read) { try await $0.listConfigurations($1) },
        Route(.get, "/v1/components/{component}/configurations/{id}", .read) { try await $0.getConfiguration($1) },
        Route(.put, "/v1/components/{component}/configurations/{id}", .admin) { try await $0.putConfiguration($1) },
        Route(.delete, "/v1/components/{component}/configurations/{id}", .admin) { try await $0.deleteConfiguration($1) },
        // TokenRoutes.swift
        Route(.get, "/v1/tokens", .admin) { try await $0.listTokens($1) },
        Route(.post, "/v1/tokens", .admin) { try await $0.createToken($1) },
        Route(.get, "/v1/tokens/verify", .read, trigger: .itsRuns) { try await $0.verifyToken($1) },
        Route(.delete, "/v1/tokens/{id}", .admin) { try await $0.revokeToken($1) },
    ]

    /// The route `method path` of `routes`; the console names the API route each screen acts as.
    static func route(_ method: HTTPRequest.Method, _ path: String) -> Route {
        guard let route = routes.first(where: { $0.method == method && $0.path == path }) else {
            preconditionFailure("no API route \(method) \(path)")
        }
        return route
    }
}
