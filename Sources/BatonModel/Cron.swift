import Foundation

/// A 5-field cron expression in UTC: minute hour day-of-month month day-of-week.
///
/// Each field takes `*`, a number, a range `a-b`, a list `a,b`, and steps `*/n` or `a-b/n`;
/// months and weekdays also take names (`JAN`, `MON`); Sunday is 0 or 7. As in Vixie cron, when
/// both day-of-month and day-of-week are restricted, a day matches either.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let daysRestricted: Bool
    let weekdaysRestricted: Bool

    public var description: String { text }

    /// Parses `text`; the error names the field at fault and says what is allowed.
    public init(_ text: String) throws {
        let fields = text.split(whereSeparator: \.isWhitespace).map(String.init)
        guard fields.count == 5 else {
            throw BatonError(.invalidInput, "a cron expression has 5 fields (minute hour day-of-month month day-of-week), '\(text)' has \(fields.count)", field: "cron")
        }
        self.text = fields.joined(separator: " ")
        minutes = try Self.field(fields[0], name: "minute", range: 0...59)
        hours = try Self.field(fields[1], name: "hour", range: 0...23)
        days = try Self.field(fields[2], name: "day-of-month", range: 1...31)
        months = try Self.field(fields[3], name: "month", range: 1...12,
                                names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], firstName: 1)
        let weekdays = try Self.field(fields[4], name: "day-of-week", range: 0...7,
                                      names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], firstName: 0)
        self.weekdays = Set(weekdays.map { $0 % 7 })
        daysRestricted = fields[2] != "*"
        weekdaysRestricted = fields[4] != "*"
    }

    static func field(_ text: String, name: String, range: ClosedRange<Int>, names: [String] = [], firstName: Int = 0) throws -> Set<Int> {
        func fail(_ why: String) -> BatonError {
            BatonError(.invalidInput, "cron \(name) field '\(text)': \(why) (allowed: \(range.lowerBound)-\(range.upperBound), *, lists, ranges, steps)", field: "cron")
        }
        func value(_ token: Substring) throws -> Int {
            if let number = Int(token) {
                guard range.contains(number) else { throw fail("\(number) is out of range") }
                return number
            }
            if let index = names.firstIndex(of: token.uppercased()) { return index + firstName }
            throw fail("'\(token)' is not a number")
        }
        var out = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw fail("an empty list item") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw fail("more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let n = Int(pieces[1]), n > 0 else { throw fail("the step '\(pieces[1])' must be a positive number") }
                step = n
            }
            let lower: Int, upper: Int
            if pieces[0] == "*" {
                (lower, upper) = (range.lowerBound, range.upperBound)
            } else if let dash = pieces[0].firstIndex(of: "-") {
                lower = try value(pieces[0][..<dash])
                upper = try value(pieces[0][pieces[0].index(after: dash)...])
                guard lower <= upper else { throw fail("the range \(lower)-\(upper) runs backwards") }
            } else {
                lower = try value(pieces[0])
                upper = pieces.count == 2 ? range.upperBound : lower
            }
            out.formUnion(stride(from: lower, through: upper, by: step))
        }
        return out
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    func dayMatches(_ c: DateComponents) -> Bool {
        let dom = days.contains(c.day!), dow = weekdays.contains((c.weekday! - 1) % 7)
        switch (daysRestricted, weekdaysRestricted) {
        case (true, true): return dom || dow
        case (true, false): return dom
        case (false, true): return dow
        case (false, false): return true
        }
    }

    /// The first time strictly after `date` (to the minute, UTC) that matches; nil if none
    /// within 8 years (an expression such as `0 0 31 2 *` never matches).
    public func next(after date: Date) -> Date? {
        let calendar = Self.utc
        // The next whole minute strictly after `date`.
        var t = Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
        let limit = date.addingTimeInterval(8 * 366 * 86_400)
        while t < limit {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: t)
            if !months.contains(c.month!) {
                t = calendar.date(from: DateComponents(year: c.year, month: c.month! + 1, day: 1))!
                continue
            }
            if !dayMatches(c) {
                t = calendar.date(from: DateComponents(year: c.year, month: c.month, day: c.day! + 1))!
                continue
            }
            if !hours.contains(c.hour!) {
                t = calendar.date(from: DateComponents(year: c.year, month: c.month, day: c.day, hour: c.hour! + 1))!
                continue
            }
            if !minutes.contains(c.minute!) {
                t = t.addingTimeInterval(60)
                continue
            }
            return t
        }
        return nil
    }

    /// The last matching time at or before `date`, looking back at most `window` seconds.
    public func previous(atOrBefore date: Date, window: TimeInterval = 8 * 366 * 86_400) -> Date? {
        // Walk forward from the start of the window; fine for the windows a scheduler uses.
        var last: Date?
        var cursor = date.addingTimeInterval(-window - 60)
        while let t = next(after: cursor), t <= date {
            last = t
            cursor = t
        }
        return last
    }
}
