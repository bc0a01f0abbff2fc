import Foundation

/// What a pause holds: a project, a component of it, or one configuration. Queued jobs in a
/// paused scope wait with reason `paused`; running ones go on.
public struct PauseScope: Sendable, Hashable, CustomStringConvertible {
    public var projectId: String
    public var componentId: String?
    public var configId: String?

    /// A configuration needs its component. Ids follow `Identifier`.
    public init(projectId: String, componentId: String? = nil, configId: String? = nil) throws {
        func check(_ id: String, _ field: String, _ maxLength: Int = 200) throws {
            guard Identifier.isValid(id, maxLength: maxLength) else {
                throw BatonError(.invalidInput, "\(field) '\(id)' \(Identifier.rule(maxLength: maxLength))", field: field)
            }
        }
        try check(projectId, "project", Identifier.projectMaxLength)
        if let componentId { try check(componentId, "component") }
        if let configId {
            guard componentId != nil else {
                throw BatonError(.invalidInput, "a configuration is paused with its component: give the component too", field: "component")
            }
            try check(configId, "config")
        }
        self.projectId = projectId
        self.componentId = componentId
        self.configId = configId
    }

    /// "project default", "component default/extractor", "configuration default/extractor/orders".
    public var description: String {
        switch (componentId, configId) {
        case (nil, _): return "project \(projectId)"
        case (let component?, nil): return "component \(projectId)/\(component)"
        case (let component?, let config?): return "configuration \(projectId)/\(component)/\(config)"
        }
    }
}

/// A pause in force.
public struct Pause: Sendable, Hashable {
    public var id: Int64
    public var scope: PauseScope
    public var pausedTime: Date
    public var pausedBy: String
    /// Jobs waiting with reason `paused` in its scope now.
    public var waitingJobs: Int

    public init(id: Int64, scope: PauseScope, pausedTime: Date, pausedBy: String, waitingJobs: Int) {
        self.id = id
        self.scope = scope
        self.pausedTime = pausedTime
        self.pausedBy = pausedBy
        self.waitingJobs = waitingJobs
    }
}
