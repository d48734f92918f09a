//! The server's clock. Dates that rules and workflows depend on (today's date for assessments,
//! when a notice starts and ends, when a review falls due) are China Standard Time (UTC+8) dates.
//! The clock can be moved forward as a whole, so that a test can let a seven-day notice run its
//! course; a server started by `jiekun serve` never moves it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, DurationRound, NaiveDate, NaiveDateTime, TimeDelta, Utc};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_seconds: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    /// Now, as stored: UTC, truncated to microseconds (the same on SQLite and PostgreSQL).
    pub fn stored_now(&self) -> NaiveDateTime {
        let t = self.now().naive_utc();
        t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
    }

    /// Today in China Standard Time.
    pub fn today(&self) -> NaiveDate {
        (self.now() + TimeDelta::hours(8)).date_naive()
    }

    /// Moves the clock forward (or back) by `by`.
    pub fn advance(&self, by: TimeDelta) {
        self.offset_seconds
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_today_and_now_together() {
        let c = Clock::default();
        let before = c.today();
        let shared = c.clone();
        shared.advance(TimeDelta::days(8));
        assert_eq!(c.today(), before + TimeDelta::days(8));
        assert!(c.now() > Utc::now() + TimeDelta::days(7));
    }
}
