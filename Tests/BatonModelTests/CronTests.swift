import BatonModel
import Foundation
import Testing

@Suite("cron expressions (UTC)")
struct CronTests {
    func t(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    @Test("next fire times", arguments: [
        ("* * * * *", "2026-11-28T10:15:30Z", "2026-11-28T10:16:00Z"),
        ("* * * * *", "2026-11-28T10:15:00Z", "2026-11-28T10:16:00Z"),
        ("*/15 * * * *", "2026-11-28T10:15:00Z", "2026-11-28T10:30:00Z"),
        ("0 2 * * *", "2026-11-28T10:15:00Z", "2026-11-29T02:00:00Z"),
        ("30 23 31 12 *", "2026-11-28T10:15:00Z", "2026-12-31T23:30:00Z"),
        ("0 0 1 JAN *", "2026-11-28T10:15:00Z", "2027-01-01T00:00:00Z"),
        ("0 9 * * MON-FRI", "2026-11-28T10:15:00Z", "2026-11-30T09:00:00Z"),  // the 28th is a Saturday
        ("0 12 * * 0", "2026-11-28T10:15:00Z", "2026-11-29T12:00:00Z"),       // Sunday as 0
        ("0 12 * * 7", "2026-11-28T10:15:00Z", "2026-11-29T12:00:00Z"),       // and as 7
        ("0 0 1 * 1", "2026-11-28T10:15:00Z", "2026-11-30T00:00:00Z"),        // day 1 OR Monday: Monday the 30th first
        ("5,10-12/2 8 * * *", "2026-11-28T08:06:00Z", "2026-11-28T08:10:00Z"),
        ("0 0 29 2 *", "2026-11-28T10:15:00Z", "2028-02-29T00:00:00Z"),
    ])
    func next(_ case_: (String, String, String)) throws {
        let (expression, after, expected) = case_
        #expect(try CronExpression(expression).next(after: t(after)) == t(expected))
    }

    @Test("an expression that never matches has no next time")
    func never() throws {
        #expect(try CronExpression("0 0 30 2 *").next(after: t("2026-01-01T00:00:00Z")) == nil)
    }

    @Test("the latest slot at or before a time: one firing for a run of missed slots")
    func previous() throws {
        let every = try CronExpression("* * * * *")
        #expect(every.previous(atOrBefore: t("2026-11-28T10:15:30Z"), window: 600) == t("2026-11-28T10:15:00Z"))
        let hourly = try CronExpression("0 * * * *")
        #expect(hourly.previous(atOrBefore: t("2026-11-28T10:15:30Z"), window: 6 * 3600) == t("2026-11-28T10:00:00Z"))
        #expect(hourly.previous(atOrBefore: t("2026-11-28T10:15:30Z"), window: 600) == nil)
    }

    @Test("bad expressions name the field and what is allowed", arguments: [
        ("* * * *", "has 4"),
        ("60 * * * *", "minute field '60': 60 is out of range"),
        ("* 24 * * *", "hour field '24'"),
        ("* * 0 * *", "day-of-month field '0'"),
        ("* * * 13 *", "month field '13'"),
        ("* * * * 8", "day-of-week field '8'"),
        ("*/0 * * * *", "the step '0' must be a positive number"),
        ("5-1 * * * *", "runs backwards"),
        ("a * * * *", "'a' is not a number"),
        ("1,,2 * * * *", "an empty list item"),
    ])
    func bad(_ case_: (String, String)) {
        let (expression, message) = case_
        #expect {
            try CronExpression(expression)
        } throws: { error in
            guard let error = error as? BatonError else { return false }
            return error.field == "cron" && error.message.contains(message)
        }
    }
}

@Suite("a schedule's onOverlap rule")
struct ScheduleOverlapTests {
    @Test("queue starts a run behind the unfinished one, skip starts none, replace cancels the runs not yet started")
    func decide() {
        #expect(ScheduleSpec.Overlap.skip.decide(unfinished: []) == (true, [], "created"))
        let unfinished: [(id: Int64, status: JobStatus)] = [(1, .processing), (2, .waiting), (3, .created)]
        #expect(ScheduleSpec.Overlap.queue.decide(unfinished: unfinished) == (true, [], "queued"))
        #expect(ScheduleSpec.Overlap.skip.decide(unfinished: unfinished) == (false, [], "skipped"))
        #expect(ScheduleSpec.Overlap.replace.decide(unfinished: unfinished) == (true, [2, 3], "replaced"))
        #expect(ScheduleSpec.Overlap.replace.decide(unfinished: [(1, .terminating)]) == (true, [], "queued"))
    }
}
