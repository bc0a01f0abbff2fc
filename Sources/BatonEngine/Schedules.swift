import BatonModel
import BatonStore
import Foundation
import Logging
import Metrics

/// Fires due schedules: what the active coordinator does on each turn, with the time passed in
/// so tests can drive a simulated clock.
public enum Schedules {
    /// For each enabled schedule, the latest cron slot in (last firing or last change, now] is
    /// fired once: a run of missed slots (no coordinator ran) makes one firing, not one per slot.
    /// Safe to call from several coordinators at once: the firing's key refuses a second one.
    @discardableResult
    public static func fireDue(store: Store, now: Date, logger: Logger) async throws -> [Firing] {
        var fired: [Firing] = []
        for schedule in try await store.schedules() where schedule.enabled {
            guard let cron = try? CronExpression(schedule.cron) else {
                logger.warning("schedule has an invalid cron expression; skipped", metadata: ["baton.schedule": "\(schedule.projectId)/\(schedule.id)"])
                continue
            }
            let since = max(schedule.lastFireTime ?? .distantPast, schedule.updated)
            guard since < now, let slot = cron.previous(atOrBefore: now, window: now.timeIntervalSince(since)), slot > since else { continue }
            do {
                let (definition, selected) = try await Orchestrations.plan(store: store, projectId: schedule.projectId, id: schedule.orchestrationId,
                                                                            only: [], exclude: [])
                let ordered = definition.tasks.map(\.id).filter(selected.contains)
                let overlap = ScheduleSpec.Overlap(rawValue: schedule.onOverlap) ?? .queue
                if let firing = try await store.fireSchedule(projectId: schedule.projectId, scheduleId: schedule.id, orchestrationId: schedule.orchestrationId,
                                                             fireTime: slot, decide: { overlap.decide(unfinished: $0) },
                                                             definition: definition.json, selected: ordered) {
                    logger.info("schedule fired", metadata: ["baton.schedule": "\(schedule.projectId)/\(schedule.id)", "baton.slot": "\(Job.formatTime(slot))",
                                                             "baton.outcome": "\(firing.outcome)", "baton.job_id": "\(firing.jobId.map(String.init) ?? "-")"])
                    fired.append(firing)
                    Counter(label: MetricNames.scheduleFirings, dimensions: [("outcome", firing.outcome)]).increment()
                }
            } catch let error as BatonError {
                // The orchestration was changed or removed under the schedule: say so, go on with the others.
                logger.warning("schedule could not fire", metadata: ["baton.schedule": "\(schedule.projectId)/\(schedule.id)", "error": "\(error.message)"])
            }
        }
        return fired
    }
}
