/// A job's status, as in Keboola's Job Queue.
///
/// `created -> waiting -> processing -> success | warning | error`, plus `terminating`,
/// `terminated` (killed after it started) and `cancelled` (killed before it started).
public enum JobStatus: String, Sendable, Codable, CaseIterable {
    case created, waiting, processing, success, warning, error, terminating, terminated, cancelled

    /// A final job never changes again.
    public var isFinal: Bool {
        switch self {
        case .success, .warning, .error, .terminated, .cancelled: true
        case .created, .waiting, .processing, .terminating: false
        }
    }

    /// A running job holds its configuration and counts against the project limit.
    public var isRunning: Bool { self == .processing || self == .terminating }

    /// `--wait` exits 0 on these.
    public var isSuccessful: Bool { self == .success || self == .warning }
}

/// What a person wants of a job.
public enum DesiredStatus: String, Sendable, Codable {
    case processing, terminating
}

/// Why a `waiting` job is held back.
public enum WaitingReason: String, Sendable, Codable {
    case configurationLock = "configuration-lock"
    case projectLimit = "project-limit"
    case paused
    case phase
}

/// Where a job event came from.
public enum EventStream: String, Sendable, Codable {
    case stdout, stderr, system
}
