//! `schedule` as sent: every field it may have, as text, so that each bad one is reported.

use serde::{Deserialize, Serialize};

use crate::domain::config::{Day, LocalTime, Schedule};
use crate::domain::FieldError;

/// Every field of every form, so that serializing it back keeps each field that was given
/// (the unknown-field check compares the two) and a mix of forms is reported here.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ScheduleRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl ScheduleRequest {
    /// The checked schedule, or one error per bad field. The form is the one whose own field
    /// is given (`every_hours`, `daily_at` or `weekly`); none of them means every hour.
    pub fn check(&self) -> Result<Schedule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut error = |field: &str, message: String| {
            errors.push(FieldError::new(format!("schedule.{field}"), message));
        };
        let forms = [
            ("every_hours", self.every_hours.is_some()),
            ("daily_at", self.daily_at.is_some()),
            ("weekly", self.weekly.is_some()),
        ];
        let mut given = forms.iter().filter(|(_, set)| *set).map(|(name, _)| *name);
        let form = given.next().unwrap_or("every_hours");
        for other in given {
            error(other, format!("cannot be combined with '{form}'"));
        }
        let calendar = form != "every_hours";
        if !calendar {
            for (field, set) in [
                ("at", self.at.is_some()),
                ("timezone", self.timezone.is_some()),
            ] {
                if set {
                    error(
                        field,
                        "is only for 'daily_at' and 'weekly' schedules".into(),
                    );
                }
            }
        }
        if form == "daily_at" && self.at.is_some() {
            error(
                "at",
                "is only for 'weekly' schedules: 'daily_at' holds the time".into(),
            );
        }
        let timezone = calendar
            .then(|| match &self.timezone {
                None => Err("is required".to_string()),
                Some(zone) => zone
                    .parse::<chrono_tz::Tz>()
                    .map_err(|_| format!("{zone:?} is not an IANA time zone name")),
            })
            .transpose()
            .map_err(|message| error("timezone", message))
            .ok()
            .flatten();
        let time = |value: Option<&String>| match value {
            None => Err("is required".to_string()),
            Some(t) => t.parse::<LocalTime>(),
        };
        let checked = match form {
            "daily_at" => time(self.daily_at.as_ref())
                .map_err(|message| error("daily_at", message))
                .ok()
                .zip(timezone)
                .map(|(daily_at, timezone)| Schedule::Daily { daily_at, timezone }),
            "weekly" => {
                let days = weekly_days(self.weekly.as_deref().unwrap_or_default())
                    .map_err(|message| error("weekly", message))
                    .ok();
                let at = time(self.at.as_ref())
                    .map_err(|message| error("at", message))
                    .ok();
                match (days, at, timezone) {
                    (Some(weekly), Some(at), Some(timezone)) => Some(Schedule::Weekly {
                        weekly,
                        at,
                        timezone,
                    }),
                    _ => None,
                }
            }
            _ => {
                let every_hours = self.every_hours.unwrap_or(1);
                if (1..=168).contains(&every_hours) {
                    Some(Schedule::EveryHours { every_hours })
                } else {
                    error("every_hours", "must be between 1 and 168".into());
                    None
                }
            }
        };
        match checked {
            Some(schedule) if errors.is_empty() => Ok(schedule),
            _ => Err(errors),
        }
    }
}

/// The days of a weekly schedule: at least one, each once.
fn weekly_days(given: &[String]) -> Result<Vec<Day>, String> {
    if given.is_empty() {
        return Err("must list at least one day".into());
    }
    let mut days = Vec::with_capacity(given.len());
    for name in given {
        let day: Day = name.parse()?;
        if days.contains(&day) {
            return Err(format!("{name:?} is listed twice"));
        }
        days.push(day);
    }
    Ok(days)
}
