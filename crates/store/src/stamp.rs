//! A timestamp written to and read from the database without chrono's pattern interpreter. SQLite
//! stores a timestamp as text, and diesel writes it with `format("%F %T%.f")` and reads it with
//! `parse_from_str`, which interpret the pattern anew for every value: in a bulk insert of verified
//! facts that was a sixth of the work, and reading a household file's timestamps about 3 % of a
//! read. [`Stamp`] writes and reads the same text digit by digit (anything else it reads goes to
//! diesel's parser, which knows every form SQLite accepts); on PostgreSQL it is diesel's own
//! binary encoding. A row reads a column through it with `#[diesel(deserialize_as = Stamp)]`.
//! [`Day`] does the same for a date (`%F`), read with every member of a household file.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{IsNull, Output, ToSql};
use diesel::sql_types::{Date, Timestamp};
use diesel::sqlite::{Sqlite, SqliteValue};

use crate::conn::MultiBackend;

/// A timestamp column value in a bulk insert, or read from a row (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Timestamp)]
pub struct Stamp(pub NaiveDateTime);

impl From<NaiveDateTime> for Stamp {
    fn from(t: NaiveDateTime) -> Self {
        Stamp(t)
    }
}

impl From<Stamp> for NaiveDateTime {
    fn from(s: Stamp) -> Self {
        s.0
    }
}

/// The timestamp in `text` when it is in the form [`sqlite_text`] writes (`YYYY-MM-DD HH:MM:SS`,
/// then `.` and one to nine digits of fraction, or nothing); `None` for anything else.
pub fn parse_sqlite_text(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || [b[4], b[7], b[10], b[13], b[16]] != *b"-- ::" {
        return None;
    }
    let number = |from: usize, to: usize| decimal(&b[from..to]);
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            number(20, b.len())? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(number(0, 4)? as i32, number(5, 7)?, number(8, 10)?)?.and_hms_nano_opt(
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
        nanos,
    )
}

/// The number written in ASCII decimal digits in `digits`; `None` if any byte is not a digit.
fn decimal(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// A date column value read from a row (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct Day(pub NaiveDate);

impl From<Day> for NaiveDate {
    fn from(d: Day) -> Self {
        d.0
    }
}

/// The date in `text` when it is in the form diesel writes on SQLite (`YYYY-MM-DD`); `None` for
/// anything else.
pub fn parse_sqlite_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || [b[4], b[7]] != *b"--" {
        return None;
    }
    NaiveDate::from_ymd_opt(
        decimal(&b[0..4])? as i32,
        decimal(&b[5..7])?,
        decimal(&b[8..10])?,
    )
}

impl FromSql<Date, Sqlite> for Day {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Some(d) = parse_sqlite_date(value.read_text()) {
            return Ok(Day(d));
        }
        <NaiveDate as FromSql<Date, Sqlite>>::from_sql(value).map(Day)
    }
}

impl FromSql<Date, Pg> for Day {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDate as FromSql<Date, Pg>>::from_sql(value).map(Day)
    }
}

impl FromSql<Date, MultiBackend> for Day {
    fn from_sql(
        value: <MultiBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<Self, Date>()
    }
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Some(t) = parse_sqlite_text(value.read_text()) {
            return Ok(Stamp(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, MultiBackend> for Stamp {
    fn from_sql(
        value: <MultiBackend as diesel::backend::Backend>::RawValue<'_>,
    ) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
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

        #[test]
        fn reads_back_what_it_writes(secs in -62_000_000_000i64..253_000_000_000, nanos in 0u32..1_000_000_000, exact in 0u8..4) {
            // Whole nanoseconds, microseconds, milliseconds and seconds: every fraction width.
            let nanos = match exact { 0 => nanos, 1 => nanos / 1_000 * 1_000, 2 => nanos / 1_000_000 * 1_000_000, _ => 0 };
            let t = DateTime::from_timestamp(secs, nanos).expect("in range").naive_utc();
            prop_assert_eq!(parse_sqlite_text(&sqlite_text(t)), Some(t));
            // And what chrono's own parser makes of the same text.
            prop_assert_eq!(NaiveDateTime::parse_from_str(&chrono_text(t), "%F %T%.f").ok(), Some(t));
        }

        #[test]
        fn agrees_with_chrono_or_declines(text in "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?") {
            // Whatever it reads, chrono reads the same; what it declines goes to diesel's parser.
            if let Some(t) = parse_sqlite_text(&text) {
                prop_assert_eq!(NaiveDateTime::parse_from_str(&text, "%F %T%.f").ok(), Some(t));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn reads_dates_as_chrono_does(days in -800_000i64..3_000_000) {
            // Every day of years 0 to 9999, written as diesel writes it.
            let day = NaiveDate::from_ymd_opt(0, 1, 1).expect("date") + chrono::Duration::days(days.rem_euclid(3_652_425));
            let text = day.format("%F").to_string();
            prop_assert_eq!(parse_sqlite_date(&text), Some(day));
        }

        #[test]
        fn dates_agree_with_chrono_or_decline(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9-]{8,11}") {
            if let Some(d) = parse_sqlite_date(&text) {
                prop_assert_eq!(NaiveDate::parse_from_str(&text, "%F").ok(), Some(d));
            }
        }
    }

    #[test]
    fn declines_other_dates() {
        for text in [
            "2026-02-30",
            "2026-13-01",
            "2026-1-05",
            "2026/12/05",
            "20261205",
            "2026-12-05 00:00:00",
            "２026-12-05",
            "-026-12-05",
        ] {
            assert_eq!(parse_sqlite_date(text), None, "{text}");
        }
        assert_eq!(
            parse_sqlite_date("0007-01-02"),
            NaiveDate::from_ymd_opt(7, 1, 2)
        );
    }

    #[test]
    fn declines_other_forms() {
        for text in [
            "2026-12-05T09:03:07",
            "2026-12-05 09:03",
            "2026-12-05 09:03:07.",
            "2026-12-05 09:03:07.1234567890",
            "2026-02-30 09:03:07",
            "2026-12-05 24:00:00",
            "２026-12-05 09:03:07",
            "2026-12-05 09:03:07Z",
        ] {
            assert_eq!(parse_sqlite_text(text), None, "{text}");
        }
        assert_eq!(
            parse_sqlite_text("2026-12-05 09:03:07.5"),
            NaiveDate::from_ymd_opt(2026, 12, 5).and_then(|d| d.and_hms_milli_opt(9, 3, 7, 500))
        );
    }
}
