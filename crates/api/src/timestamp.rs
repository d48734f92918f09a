//! Instants in answers, written digit by digit: RFC 3339 in UTC exactly as chrono writes a
//! `DateTime<Utc>` (seconds, then a fraction of 3, 6 or 9 digits when there is one, then `Z`),
//! without chrono's formatting machinery, which took about a fifteenth of the server's time on a
//! page of the household list (two instants a household). For
//! `#[serde(serialize_with = "crate::timestamp::serialize")]`; the schema stays a `date-time`
//! string.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Serialize, Serializer};

pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 30];
    match write(t, &mut buf) {
        // Only ASCII digits and separators are written.
        Some(n) => s.serialize_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
        None => t.serialize(s),
    }
}

/// Writes `t` into `buf` and returns its length; `None` for what chrono writes differently (a
/// year outside 0–9999, a leap second), which is left to chrono.
fn write(t: &DateTime<Utc>, buf: &mut [u8; 30]) -> Option<usize> {
    let year = t.year();
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut at = 0;
    for (value, width, then) in [
        (year as u32, 4, b'-'),
        (t.month(), 2, b'-'),
        (t.day(), 2, b'T'),
        (t.hour(), 2, b':'),
        (t.minute(), 2, b':'),
    ] {
        at = digits(buf, at, value, width);
        buf[at] = then;
        at += 1;
    }
    at = digits(buf, at, t.second(), 2);
    if nanos != 0 {
        let (value, width) = if nanos.is_multiple_of(1_000_000) {
            (nanos / 1_000_000, 3)
        } else if nanos.is_multiple_of(1_000) {
            (nanos / 1_000, 6)
        } else {
            (nanos, 9)
        };
        buf[at] = b'.';
        at = digits(buf, at + 1, value, width);
    }
    buf[at] = b'Z';
    Some(at + 1)
}

/// Writes `value` in `width` decimal digits at `at`, zero-padded; returns where it ended.
fn digits(buf: &mut [u8], at: usize, value: u32, width: u32) -> usize {
    for i in 0..width {
        buf[at + i as usize] = b'0' + (value / 10u32.pow(width - 1 - i) % 10) as u8;
    }
    at + width as usize
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use proptest::prelude::*;

    #[derive(serde::Serialize)]
    struct Ours(#[serde(serialize_with = "super::serialize")] DateTime<Utc>);

    fn same_as_chrono(t: DateTime<Utc>) {
        assert_eq!(
            serde_json::to_string(&Ours(t)).unwrap(),
            serde_json::to_string(&t).unwrap(),
            "{t:?}"
        );
    }

    #[test]
    fn written_as_chrono_writes_them() {
        let second = Utc.with_ymd_and_hms(2026, 12, 7, 6, 58, 48).unwrap();
        for nanos in [0, 1, 999, 1_000, 123_456_000, 120_000_000, 100, 999_999_999] {
            same_as_chrono(second + chrono::TimeDelta::nanoseconds(nanos));
        }
        for year in [-1, 0, 1, 999, 9999, 10000] {
            same_as_chrono(Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap());
        }
        // A leap second, which chrono writes as :60.
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .unwrap()
            .and_utc();
        same_as_chrono(leap);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn any_instant_is_written_as_chrono_writes_it(
            secs in -80_000_000_000i64..300_000_000_000,
            nanos in prop_oneof![Just(0u32), (0u32..1_000).prop_map(|m| m * 1_000_000),
                (0u32..1_000_000).prop_map(|u| u * 1_000), 0u32..1_000_000_000],
        ) {
            same_as_chrono(DateTime::from_timestamp(secs, nanos).unwrap());
        }
    }
}
