//! How timestamps and page cursors are written as strings, so that ordering and paging work
//! the same in every query.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, SecondsFormat, Utc};

use crate::error::StoreError;

/// A timestamp as fixed-width RFC 3339 with nanoseconds (`2024-05-01T12:00:00.000000000Z`):
/// byte order of these strings is time order, so SQL can compare and sort them as text.
/// Years outside 0..=9999 would break the fixed width and are refused.
pub(crate) fn time_key(at: DateTime<Utc>) -> Result<String, StoreError> {
    if !(0..=9999).contains(&at.year()) {
        return Err(StoreError::Backend(format!(
            "timestamp {at} is outside the years the store can order"
        )));
    }
    Ok(at.to_rfc3339_opts(SecondsFormat::Nanos, true))
}

/// The time a [`time_key`] holds.
pub(crate) fn parse_time_key(key: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(key)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| StoreError::Backend(format!("stored time {key:?} is invalid")))
}

/// An opaque page cursor holding the sort key of the last item of a page.
pub(crate) fn encode_cursor(parts: &[&str]) -> String {
    // Ids never contain control characters (see `domain::ids`), so '\n' separates safely.
    URL_SAFE_NO_PAD.encode(parts.join("\n"))
}

/// The parts of a cursor made by [`encode_cursor`]; `expected` is how many there must be.
pub(crate) fn decode_cursor(cursor: &str, expected: usize) -> Result<Vec<String>, StoreError> {
    let invalid = || StoreError::InvalidCursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let parts: Vec<String> = text.split('\n').map(str::to_string).collect();
    if parts.len() != expected || parts.iter().any(String::is_empty) {
        return Err(invalid());
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn time_keys_sort_like_times() {
        let a = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let b = a + chrono::TimeDelta::nanoseconds(1);
        let c = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 1).unwrap();
        let d = Utc.with_ymd_and_hms(999, 1, 1, 0, 0, 0).unwrap();
        let keys: Vec<String> = [d, a, b, c].iter().map(|t| time_key(*t).unwrap()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys[1], "2024-01-01T00:00:00.000000000Z");
        for (key, at) in keys.iter().zip([d, a, b, c]) {
            assert_eq!(parse_time_key(key).unwrap(), at);
        }
        assert!(parse_time_key("yesterday").is_err());
        assert!(time_key(Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap()).is_err());
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = encode_cursor(&["2024-01-01T00:00:00.000000000Z", "run 1"]);
        assert_eq!(
            decode_cursor(&cursor, 2).unwrap(),
            vec!["2024-01-01T00:00:00.000000000Z", "run 1"]
        );
        assert!(decode_cursor(&cursor, 1).is_err());
        assert!(decode_cursor("not base64!", 1).is_err());
        assert!(matches!(
            decode_cursor("", 1),
            Err(StoreError::InvalidCursor)
        ));
    }
}
