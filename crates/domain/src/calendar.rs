//! Public-notice dates (公示期): a notice runs a number of calendar days or working days from its
//! first day. Working days are Monday to Friday, less public holidays, plus the weekend days
//! declared working days in their place (调休) — both from a configurable list.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};

crate::closed_list! {
    /// A day the calendar treats differently from its weekday.
    DayKind ("A day the calendar treats differently from its weekday", "节假日或调休工作日") {
        /// A public holiday (法定节假日), even on a weekday.
        Holiday = "holiday" ("a public holiday, even on a weekday", "法定节假日"),
        /// A weekend day worked in exchange for a holiday (调休上班).
        Workday = "workday" ("a weekend day worked in exchange for a holiday", "调休上班"),
    }
}

/// The exceptions to the Monday-to-Friday week.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    pub days: BTreeMap<NaiveDate, DayKind>,
}

impl Calendar {
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.days.get(&d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(d.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The last day of a notice starting on `start` and lasting `days` (at least one) calendar
    /// days, or working days when `working_days`. A notice counted in working days that starts
    /// on a day off begins counting on the next working day.
    pub fn notice_ends_on(&self, start: NaiveDate, days: i64, working_days: bool) -> NaiveDate {
        let days = days.max(1);
        if !working_days {
            return start + chrono::TimeDelta::days(days - 1);
        }
        let mut d = start;
        let mut counted = 0;
        loop {
            if self.is_working_day(d) {
                counted += 1;
                if counted == days {
                    return d;
                }
            }
            d = d.succ_opt().unwrap_or(d);
        }
    }
}

/// A notice is over the day after its last day.
pub fn notice_over(ends_on: NaiveDate, today: NaiveDate) -> bool {
    today > ends_on
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn calendar_days_count_the_first_day() {
        let c = Calendar::default();
        assert_eq!(c.notice_ends_on(d(2026, 12, 1), 7, false), d(2026, 12, 7));
        assert_eq!(c.notice_ends_on(d(2026, 12, 1), 1, false), d(2026, 12, 1));
        assert_eq!(c.notice_ends_on(d(2026, 12, 1), 0, false), d(2026, 12, 1));
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_count_swapped_days() {
        let mut c = Calendar::default();
        // Tuesday 2026-12-01: five working days end on Monday 12-07.
        assert_eq!(c.notice_ends_on(d(2026, 12, 1), 5, true), d(2026, 12, 7));
        // Started on a Saturday: counting begins Monday.
        assert_eq!(c.notice_ends_on(d(2026, 12, 5), 1, true), d(2026, 12, 7));
        // A holiday on Thursday 12-03 pushes the end a day.
        c.days.insert(d(2026, 12, 3), DayKind::Holiday);
        assert_eq!(c.notice_ends_on(d(2026, 12, 1), 5, true), d(2026, 12, 8));
        // A swapped working Saturday 12-05 pulls it back.
        c.days.insert(d(2026, 12, 5), DayKind::Workday);
        assert_eq!(c.notice_ends_on(d(2026, 12, 1), 5, true), d(2026, 12, 7));
        assert!(c.is_working_day(d(2026, 12, 5)));
        assert!(!c.is_working_day(d(2026, 12, 3)));
    }

    #[test]
    fn a_notice_is_over_the_day_after_its_last_day() {
        assert!(!notice_over(d(2026, 12, 7), d(2026, 12, 7)));
        assert!(notice_over(d(2026, 12, 7), d(2026, 12, 8)));
    }
}
