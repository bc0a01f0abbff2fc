import Foundation

/// What `baton apply --dry-run` would do with each item of a checked file: create it, update
/// it, or leave it unchanged, judged against the stored forms a caller read (from the database
/// or the API). Values of `#` keys are sealed when stored, so they are not compared: a changed
/// secret alone does not show as an update.
public struct ApplyPlan: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable { case create, update, unchanged }

    public struct Item: Sendable, Hashable {
        /// project, component, configuration, orchestration, schedule, notification.
        public var kind: String
        /// "default/extract/orders" style: project, then the ids that name it.
        public var name: String
        public var action: Action
    }

    public var items: [Item]

    /// The stored form of each kind, nil where it does not exist. Each closure gets the project and ids.
    public struct Current {
        public var project: (String) async throws -> JSONValue?
        public var component: (String, String) async throws -> JSONValue?
        public var configuration: (String, String, String) async throws -> JSONValue?
        public var schedule: (String, String) async throws -> JSONValue?
        public var notification: (String, String) async throws -> JSONValue?

        public init(project: @escaping (String) async throws -> JSONValue?, component: @escaping (String, String) async throws -> JSONValue?,
                    configuration: @escaping (String, String, String) async throws -> JSONValue?,
                    schedule: @escaping (String, String) async throws -> JSONValue?, notification: @escaping (String, String) async throws -> JSONValue?) {
            self.project = project; self.component = component; self.configuration = configuration
            self.schedule = schedule; self.notification = notification
        }
    }

    /// Compares each item of `set` with what `current` reads. The compared forms:
    /// project `{name, maxParallelJobs}`, component `{executor}`, configuration and orchestration
    /// `{name, parameters}` (an orchestration's parameters are its definition), schedule
    /// `{orchestration, cron, enabled, onOverlap}`; a notification is compared by existence only.
    public static func make(_ set: ApplySet, current: Current) async throws -> ApplyPlan {
        var items: [Item] = []
        func add(_ kind: String, _ name: String, desired: JSONValue?, stored: JSONValue?) {
            let action: Action = stored == nil ? .create : desired.map { comparable($0) == comparable(stored!) } == true ? .unchanged : .update
            items.append(Item(kind: kind, name: name, action: action))
        }
        for project in set.projects {
            add("project", project.id, desired: ["name": .string(project.name), "maxParallelJobs": .number(Double(project.maxParallelJobs))],
                stored: try await current.project(project.id))
        }
        for component in set.components {
            add("component", "\(component.projectId)/\(component.id)", desired: ["executor": component.executor.json],
                stored: try await current.component(component.projectId, component.id))
        }
        for configuration in set.configurations {
            add("configuration", "\(configuration.projectId)/\(configuration.componentId)/\(configuration.id)",
                desired: ["name": .string(configuration.name), "parameters": configuration.parameters],
                stored: try await current.configuration(configuration.projectId, configuration.componentId, configuration.id))
        }
        for orchestration in set.orchestrations {
            let configuration = orchestration.configuration
            add("orchestration", "\(orchestration.projectId)/\(orchestration.id)",
                desired: ["name": .string(configuration.name), "parameters": configuration.parameters],
                stored: try await current.configuration(configuration.projectId, configuration.componentId, configuration.id))
        }
        for schedule in set.schedules {
            add("schedule", "\(schedule.projectId)/\(schedule.id)",
                desired: ["orchestration": .string(schedule.orchestrationId), "cron": .string(schedule.cron.text),
                          "enabled": .bool(schedule.enabled), "onOverlap": .string(schedule.onOverlap.rawValue)],
                stored: try await current.schedule(schedule.projectId, schedule.id))
        }
        for notification in set.notifications {
            let stored = try await current.notification(notification.projectId, notification.id)
            add("notification", "\(notification.projectId)/\(notification.id)", desired: nil, stored: stored)
        }
        return ApplyPlan(items: items)
    }

    /// `value` with every `#` key's value replaced by a placeholder (sealed values differ each time).
    static func comparable(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(Dictionary(uniqueKeysWithValues: object.map { key, value in (key, key.hasPrefix("#") ? .string("#") : comparable(value)) }))
        case .array(let items):
            return .array(items.map(comparable))
        default:
            return value
        }
    }

    public func count(_ action: Action) -> Int { items.filter { $0.action == action }.count }

    /// One line per item ("create configuration default/extract/orders"), then the counts.
    public var lines: [String] {
        items.map { "\($0.action == .unchanged ? "unchanged" : $0.action == .create ? "create   " : "update   ") \($0.kind) \($0.name)" }
            + ["dry run: \(count(.create)) to create, \(count(.update)) to update, \(count(.unchanged)) unchanged; nothing was written"]
    }
}
