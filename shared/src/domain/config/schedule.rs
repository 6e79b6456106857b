//! When a tenant syncs: every N hours, or daily or weekly at a local time in an IANA zone.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveTime, Timelike, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Untagged, so that the form stored before calendar schedules existed (`{"every_hours": 1}`)
/// still reads and writes back the same; each form has a field of its own to tell it apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Schedule {
    EveryHours {
        every_hours: u32,
    },
    Daily {
        daily_at: LocalTime,
        timezone: Tz,
    },
    Weekly {
        weekly: Vec<Day>,
        at: LocalTime,
        timezone: Tz,
    },
}

impl Default for Schedule {
    fn default() -> Self {
        Self::EveryHours { every_hours: 1 }
    }
}

impl Schedule {
    /// What the stores' due index keeps as the period: the hours of `every_hours`, 0 for a
    /// calendar schedule, whose next time needs its zone and so the tenant's record.
    pub fn index_hours(&self) -> u32 {
        match self {
            Self::EveryHours { every_hours } => *every_hours,
            Self::Daily { .. } | Self::Weekly { .. } => 0,
        }
    }
}

/// A wall-clock time to the minute, written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime(NaiveTime);

impl LocalTime {
    pub fn time(self) -> NaiveTime {
        self.0
    }
}

impl FromStr for LocalTime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("must be a time as HH:MM (00:00 to 23:59), not {s:?}");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        let two_digits = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(h) || !two_digits(m) {
            return Err(bad());
        }
        let (h, m) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        NaiveTime::from_hms_opt(h, m, 0).map(Self).ok_or_else(bad)
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A day of a weekly schedule, written `mon` to `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub fn weekday(self) -> Weekday {
        match self {
            Day::Mon => Weekday::Mon,
            Day::Tue => Weekday::Tue,
            Day::Wed => Weekday::Wed,
            Day::Thu => Weekday::Thu,
            Day::Fri => Weekday::Fri,
            Day::Sat => Weekday::Sat,
            Day::Sun => Weekday::Sun,
        }
    }
}

impl FromStr for Day {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map_err(|_| format!("{s:?} is not a day: use mon, tue, wed, thu, fri, sat or sun"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_form_reads_and_writes_back_the_same_json() {
        for stored in [
            json!({"every_hours": 1}),
            json!({"every_hours": 24}),
            json!({"daily_at": "00:30", "timezone": "Europe/Berlin"}),
            json!({"weekly": ["sat", "mon"], "at": "23:59", "timezone": "America/New_York"}),
        ] {
            let read: Schedule = serde_json::from_value(stored.clone()).unwrap();
            assert_eq!(serde_json::to_value(&read).unwrap(), stored);
        }
        let old: Schedule = serde_json::from_value(json!({"every_hours": 1})).unwrap();
        assert_eq!(old, Schedule::default());
    }

    #[test]
    fn times_are_strict_hh_mm() {
        assert_eq!("07:05".parse::<LocalTime>().unwrap().to_string(), "07:05");
        for bad in [
            "7:05", "24:00", "12:60", "12:5", "1205", "ab:cd", "12:05:00", "+1:05",
        ] {
            assert!(bad.parse::<LocalTime>().is_err(), "{bad}");
        }
    }
}
