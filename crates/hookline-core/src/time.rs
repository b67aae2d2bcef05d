//! `Timestamp`: unix milliseconds, the only time type the domain uses.

use std::fmt;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time as unix milliseconds (UTC). Cheap to copy, totally ordered, and stored as an integer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The timestamp `millis` milliseconds after the unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// The current wall-clock time. Call it at the edge and pass the value inward.
    pub fn now() -> Self {
        Self((OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// Milliseconds since the unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the unix epoch, as used by `webhook-timestamp`.
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This time plus `duration`, saturating instead of overflowing.
    pub fn plus(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(duration.as_millis().min(i64::MAX as u128) as i64))
    }

    /// This time minus `duration`, saturating.
    pub fn minus(self, duration: Duration) -> Self {
        Self(self.0.saturating_sub(duration.as_millis().min(i64::MAX as u128) as i64))
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-28T20:01:08.123Z`.
    pub fn to_rfc3339(self) -> String {
        let Ok(datetime) = OffsetDateTime::from_unix_timestamp_nanos(self.0 as i128 * 1_000_000) else {
            return String::from("1970-01-01T00:00:00.000Z");
        };
        let (y, mo, d) = (datetime.year(), datetime.month() as u8, datetime.day());
        let (h, mi, s, ms) = (datetime.hour(), datetime.minute(), datetime.second(), datetime.millisecond());
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    /// Parses any RFC 3339 time (offsets allowed); `None` when it is not one.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let datetime = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        Some(Self((datetime.unix_timestamp_nanos() / 1_000_000) as i64))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Parses a human duration such as `5s`, `250ms`, `5m`, `2h` or `3d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "ms" => number,
        "s" => number.checked_mul(1000)?,
        "m" | "min" => number.checked_mul(60_000)?,
        "h" => number.checked_mul(3_600_000)?,
        "d" => number.checked_mul(86_400_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(millis))
}

/// Renders a duration the way [`parse_duration`] reads it, choosing the largest exact unit.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if millis > 0 && millis.is_multiple_of(size) {
            return format!("{}{unit}", millis / size);
        }
    }
    format!("{millis}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_with_millis() {
        let t = Timestamp::from_unix_millis(1_764_374_400_123);
        assert_eq!(t.to_rfc3339(), "2025-11-29T00:00:00.123Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
        assert_eq!(
            Timestamp::parse_rfc3339("2025-11-29T01:00:00+01:00"),
            Some(Timestamp::from_unix_millis(1_764_374_400_000))
        );
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn durations_parse_and_format() {
        for (text, millis) in [("5s", 5000), ("250ms", 250), ("5m", 300_000), ("2h", 7_200_000), ("3d", 259_200_000)] {
            assert_eq!(parse_duration(text), Some(Duration::from_millis(millis)), "{text}");
            assert_eq!(format_duration(Duration::from_millis(millis)), text);
        }
        for bad in ["", "5", "s", "5x", "-5s", "5.5s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
