//! A timestamp written to the database without chrono's pattern formatting. SQLite stores a
//! timestamp as text, and diesel writes it with `format("%F %T%.f")`, which interprets the pattern
//! anew for every value: in a bulk insert of verified facts that was a sixth of the work. [`Stamp`]
//! writes the same text digit by digit; on PostgreSQL it is diesel's own binary encoding.

use chrono::{Datelike, NaiveDateTime, Timelike};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

/// A timestamp column value in a bulk insert (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression)]
#[diesel(sql_type = Timestamp)]
pub struct Stamp(pub NaiveDateTime);

impl From<NaiveDateTime> for Stamp {
    fn from(t: NaiveDateTime) -> Self {
        Stamp(t)
    }
}

/// The text diesel writes for a timestamp on SQLite (`%F %T%.f`): the fraction has 3, 6 or 9
/// digits, as few as hold it, and is left out when zero.
pub fn sqlite_text(t: NaiveDateTime) -> String {
    let (year, nanos) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        // Years beyond four digits and leap seconds: chrono's own rendering.
        return t.format("%F %T%.f").to_string();
    }
    let mut s = String::with_capacity(29);
    digits(&mut s, year as u32, 4);
    for (sep, v) in [
        ('-', t.month()),
        ('-', t.day()),
        (' ', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ] {
        s.push(sep);
        digits(&mut s, v, 2);
    }
    if nanos != 0 {
        s.push('.');
        if nanos % 1_000_000 == 0 {
            digits(&mut s, nanos / 1_000_000, 3);
        } else if nanos % 1_000 == 0 {
            digits(&mut s, nanos / 1_000, 6);
        } else {
            digits(&mut s, nanos, 9);
        }
    }
    s
}

/// Appends `v` in `width` decimal digits, zero-padded.
fn digits(s: &mut String, v: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    while div > 0 {
        s.push(char::from(b'0' + ((v / div) % 10) as u8));
        div /= 10;
    }
}

impl ToSql<Timestamp, Sqlite> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> diesel::serialize::Result {
        out.set_value(sqlite_text(self.0));
        Ok(IsNull::No)
    }
}

impl ToSql<Timestamp, Pg> for Stamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Pg>>::to_sql(&self.0, &mut out.reborrow())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, NaiveDate};
    use proptest::prelude::*;

    fn chrono_text(t: NaiveDateTime) -> String {
        t.format("%F %T%.f").to_string()
    }

    #[test]
    fn writes_what_diesel_writes_at_each_precision() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).expect("date");
        for nanos in [
            0,
            5_000_000,
            123_000_000,
            123_456_000,
            1_000,
            123_456_789,
            7,
        ] {
            let t = day.and_hms_nano_opt(9, 3, 7, nanos).expect("time");
            assert_eq!(sqlite_text(t), chrono_text(t), "{nanos}");
        }
        let early = NaiveDate::from_ymd_opt(7, 1, 2)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("time");
        assert_eq!(sqlite_text(early), "0007-01-02 00:00:00");
        let leap = day
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .expect("time");
        assert_eq!(sqlite_text(leap), chrono_text(leap));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn same_text_as_chrono(secs in -70_000_000_000i64..260_000_000_000, micros in 0u32..1_000_000, exact in 0u8..3) {
            // Stored timestamps are whole microseconds; also try whole milliseconds and seconds.
            let nanos = match exact { 0 => micros * 1_000, 1 => (micros / 1_000) * 1_000_000, _ => 0 };
            let t = DateTime::from_timestamp(secs, nanos).expect("in range").naive_utc();
            prop_assert_eq!(sqlite_text(t), chrono_text(t));
        }
    }
}
