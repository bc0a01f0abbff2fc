import BatonModel
import BatonStore
import Foundation
import Yams

/// Reads apply files: JSON or YAML, one document, a list of documents, or YAML documents separated by `---`.
public enum Documents {
    public static func load(path: String) throws -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatonError(.invalidInput, "cannot read file '\(path)'", field: "file")
        }
        return try parse(String(decoding: data, as: UTF8.self), name: path)
    }

    public static func parse(_ text: String, name: String = "input") throws -> [JSONValue] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var values: [JSONValue]
        if trimmed.hasPrefix("{") || trimmed.hasPrefix("[") {
            do {
                values = [try JSONValue.parse(trimmed)]
            } catch {
                throw BatonError(.invalidInput, "\(name) is not valid JSON: \(error.localizedDescription)", field: "file")
            }
        } else {
            do {
                values = try Yams.load_all(yaml: text).compactMap { $0 }.map(fromYAML)
            } catch {
                throw BatonError(.invalidInput, "\(name) is not valid YAML or JSON: \(error)", field: "file")
            }
        }
        if values.count == 1, case .array(let list) = values[0] { values = list }
        guard !values.isEmpty else { throw BatonError(.invalidInput, "\(name) holds no documents", field: "file") }
        return values
    }

    static func fromYAML(_ value: Any) -> JSONValue {
        switch value {
        case let v as Bool: return .bool(v)
        case let v as Int: return .number(Double(v))
        case let v as Double: return .number(v)
        case let v as String: return .string(v)
        case let v as [Any]: return .array(v.map(fromYAML))
        case let v as [String: Any]: return .object(v.mapValues(fromYAML))
        case let v as [AnyHashable: Any]:
            return .object(Dictionary(v.map { ("\($0.key)", fromYAML($0.value)) }, uniquingKeysWith: { $1 }))
        case is NSNull: return .null
        case let v as Date: return .string(Job.formatTime(v))
        default: return .string("\(value)")
        }
    }
}

/// `baton apply`: validates every document, then writes all of them in one transaction.
public enum Apply {
    public struct Summary: Sendable {
        public var projects = 0, components = 0, configurations = 0, orchestrations = 0, schedules = 0, notifications = 0
        /// What was applied but is worth saying (a phase a run will skip), one line each.
        public var warnings: [String] = []
    }

    public static func apply(_ documents: [JSONValue], store: Store) async throws -> Summary {
        let set = try await check(documents, store: store)
        try await store.apply(set)
        return summary(set)
    }

    /// What `apply` of `set` reports: counts and the orchestrations' warnings.
    public static func summary(_ set: ApplySet) -> Summary {
        let warnings = set.orchestrations.flatMap { spec in
            spec.definition.warnings.map { "orchestration '\(spec.id)' (project \(spec.projectId)) \($0.field): \($0.message)" }
        }
        return Summary(projects: set.projects.count, components: set.components.count, configurations: set.configurations.count,
                       orchestrations: set.orchestrations.count, schedules: set.schedules.count,
                       notifications: set.notifications.count, warnings: warnings)
    }

    /// Checks the whole file against what is stored; throws every problem at once (nothing is written).
    public static func check(_ documents: [JSONValue], store: Store) async throws -> ApplySet {
        let referenced = ApplySet.referencedComponents(in: documents)
        let existing = try await store.componentExecutors(referenced)
        let projects = try await store.projectIds()
        var configurations = Set<[String]>()
        for (project, pairs) in Dictionary(grouping: ApplySet.referencedConfigurations(in: documents), by: { $0[0] }) {
            for found in try await store.existingConfigurations(projectId: project, pairs.map { ($0[1], $0[2]) }) {
                configurations.insert([project] + found)
            }
        }
        return try validated(documents, existing: existing, existingProjects: projects, existingConfigurations: configurations)
    }

    /// `ApplySet.validate`, its problems thrown as one `invalidInput` error.
    public static func validated(_ documents: [JSONValue], existing: [ComponentKey: ExecutorSpec], existingProjects: Set<String>,
                                 existingConfigurations: Set<[String]>) throws -> ApplySet {
        switch ApplySet.validate(documents, existing: existing, existingProjects: existingProjects, existingConfigurations: existingConfigurations) {
        case .failure(let issues):
            throw BatonError(.invalidInput, "nothing was applied: \(issues.items.count) problem\(issues.items.count == 1 ? "" : "s") found",
                             field: issues.items.first?.field, details: issues.items.map(\.description))
        case .success(let set):
            return set
        }
    }

    /// What applying `documents` would create, update or leave unchanged; writes nothing.
    public static func dryRun(_ documents: [JSONValue], store: Store) async throws -> ApplyPlan {
        let set = try await check(documents, store: store)
        return try await ApplyPlan.make(set, current: ApplyPlan.Current(
            project: { id in try await store.project(id: id).map { ["name": .string($0.name), "maxParallelJobs": .number(Double($0.maxParallelJobs))] } },
            component: { project, id in try await store.components(projectId: project).first { $0.id == id }.map { ["executor": $0.executor] } },
            configuration: { project, component, id in
                try await store.configurations(projectId: project, componentId: component).first { $0.id == id }.map { ["name": .string($0.name), "parameters": $0.parameters] }
            },
            schedule: { project, id in
                try await store.schedules(projectId: project).first { $0.id == id }.map {
                    ["orchestration": .string($0.orchestrationId), "cron": .string($0.cron), "enabled": .bool($0.enabled), "onOverlap": .string($0.onOverlap)]
                }
            },
            notification: { project, id in try await store.notificationSubscriptionIds(projectId: project).contains(id) ? .bool(true) : nil }))
    }
}
