/// One task of a finished run as a retry sees it.
public struct RetryItem: Sendable, Hashable {
    public var task: OrchestrationDefinition.Task
    public var phaseStatus: PhaseStatus
    /// The task's job in the finished run and how it ended; nil if it had none.
    public var previousJobId: Int64?
    public var previousStatus: JobStatus?
    /// Chosen by default ("Job Retry"): a failed task, or any task of a failed or not-executed phase.
    public var matched: Bool
}

extension OrchestrationDefinition {
    /// The default selection of a retry of a finished run: its failed tasks, and every task of
    /// its failed and not-executed phases (phases a kill stopped before they started count as
    /// not executed); tasks that succeeded elsewhere are not rerun. Tasks the run did not select
    /// are never matched.
    public func retryPlan(selected: Set<String>, children: [String: (id: Int64, status: JobStatus)]) -> [RetryItem] {
        let progress = progress(selected: selected, children: children.mapValues(\.status))
        return progress.phases.flatMap { phase in
            phase.tasks.map { state in
                let previous = children[state.task.id]
                let failed = previous.map { Self.failed($0.status) } ?? false
                let phaseRerun = [.error, .notExecuted, .pending, .processing].contains(phase.status)
                return RetryItem(task: state.task, phaseStatus: phase.status, previousJobId: previous?.id, previousStatus: previous?.status,
                                 matched: state.selected && (failed || phaseRerun))
            }
        }
    }
}
