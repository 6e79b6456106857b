//! The Okta test server's `filter`/`search` expressions (users) and System Log `filter`s:
//! `attribute operator "value"` clauses joined by `and` (binding tighter) and `or`, each
//! attribute with the operators Okta allows it, timestamps in Okta's strict format.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// A timestamp as Okta takes it in expressions and `since`: `yyyy-MM-ddTHH:mm:ss.SSSZ`.
pub(super) fn okta_time(value: &str) -> Option<DateTime<Utc>> {
    let strict = value.len() == 24
        && value.ends_with('Z')
        && value.as_bytes().get(19) == Some(&b'.')
        && value.as_bytes().get(10) == Some(&b'T');
    if !strict {
        return None;
    }
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// One `attribute operator "value"` clause.
#[derive(Debug)]
pub(super) struct Clause {
    attribute: String,
    operator: String,
    value: String,
}

/// `clause (and|or clause)*`, `and` binding tighter, as alternatives of conjunctions.
pub(super) type Expression = Vec<Vec<Clause>>;

/// Parses an expression over `attributes` (each with its operators); `None` on bad syntax.
pub(super) fn parse(text: &str, attributes: &[(&str, &[&str])]) -> Option<Expression> {
    let mut rest = text.trim();
    let mut alternatives: Expression = vec![Vec::new()];
    loop {
        let (attribute, after) = rest.split_once(' ')?;
        let (operator, after) = after.trim_start().split_once(' ')?;
        let after = after.trim_start().strip_prefix('"')?;
        let (value, after) = after.split_once('"')?;
        let operators = attributes.iter().find(|(a, _)| *a == attribute)?.1;
        if !operators.contains(&operator) {
            return None;
        }
        if attribute == "lastUpdated" && okta_time(value).is_none() {
            return None;
        }
        alternatives.last_mut()?.push(Clause {
            attribute: attribute.into(),
            operator: operator.into(),
            value: value.into(),
        });
        rest = after.trim_start();
        if rest.is_empty() {
            return Some(alternatives);
        }
        let (joiner, after) = rest.split_once(' ')?;
        match joiner {
            "and" => {}
            "or" => alternatives.push(Vec::new()),
            _ => return None,
        }
        rest = after.trim_start();
    }
}

/// The value at a dotted path (`profile.login`, `target.id`); for `target.id`, any target's.
fn values<'a>(object: &'a Value, path: &str) -> Vec<&'a Value> {
    match path.split_once('.') {
        Some(("target", field)) => object["target"]
            .as_array()
            .map(|targets| targets.iter().map(|t| &t[field]).collect())
            .unwrap_or_default(),
        Some((outer, inner)) => vec![&object[outer][inner]],
        None => vec![&object[path]],
    }
}

fn holds(clause: &Clause, object: &Value) -> bool {
    values(object, &clause.attribute).into_iter().any(|value| {
        let Some(value) = value.as_str() else {
            return false;
        };
        if clause.attribute == "lastUpdated" || clause.attribute == "published" {
            let (Some(have), Some(want)) = (okta_time(value), okta_time(&clause.value)) else {
                return false;
            };
            return match clause.operator.as_str() {
                "gt" => have > want,
                "ge" => have >= want,
                "lt" => have < want,
                "le" => have <= want,
                _ => have == want,
            };
        }
        match clause.operator.as_str() {
            "sw" => value
                .to_lowercase()
                .starts_with(&clause.value.to_lowercase()),
            _ => value.eq_ignore_ascii_case(&clause.value),
        }
    })
}

pub(super) fn matches(expression: &Expression, object: &Value) -> bool {
    expression
        .iter()
        .any(|all| all.iter().all(|clause| holds(clause, object)))
}

pub(super) const USER_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("status", &["eq"]),
    ("lastUpdated", &["eq", "gt", "ge", "lt", "le"]),
    ("id", &["eq"]),
    ("profile.login", &["eq", "sw"]),
    ("profile.email", &["eq", "sw"]),
    ("profile.firstName", &["eq", "sw"]),
    ("profile.lastName", &["eq", "sw"]),
];

pub(super) const EVENT_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("eventType", &["eq"]),
    ("target.id", &["eq"]),
    ("actor.id", &["eq"]),
    ("outcome.result", &["eq"]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expressions_parse_strictly() {
        let ok = parse(
            r#"lastUpdated gt "2026-01-01T00:00:00.000Z" and status eq "ACTIVE" or id eq "x""#,
            USER_ATTRIBUTES,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].len(), 2);
        for bad in [
            r#"lastUpdated gt "2026-01-01T00:00:00Z""#,
            r#"lastUpdated gt 2026-01-01T00:00:00.000Z"#,
            r#"lastUpdated gt "2026-01-01T00:00:00.000Z" nand status eq "A""#,
            r#"lastUpdated sw "2026-01-01T00:00:00.000Z""#,
            r#"profile.nickName eq "x""#,
            r#"status eq "ACTIVE" and"#,
            r#"status eq "ACTIVE"#,
            "",
        ] {
            assert!(parse(bad, USER_ATTRIBUTES).is_none(), "{bad}");
        }
    }

    #[test]
    fn expressions_match_users_and_events() {
        let user = json!({"id": "u1", "status": "ACTIVE",
            "lastUpdated": "2026-06-01T00:00:00.000Z", "profile": {"login": "Ann@x"}});
        let holds = |text: &str| matches(&parse(text, USER_ATTRIBUTES).unwrap(), &user);
        assert!(holds(r#"lastUpdated gt "2026-05-31T23:59:59.999Z""#));
        assert!(!holds(r#"lastUpdated gt "2026-06-01T00:00:00.000Z""#));
        assert!(holds(r#"lastUpdated ge "2026-06-01T00:00:00.000Z""#));
        assert!(holds(r#"status eq "active" and profile.login sw "ann""#));
        assert!(holds(r#"status eq "SUSPENDED" or id eq "u1""#));
        let event = json!({"eventType": "user.lifecycle.deactivate",
            "target": [{"id": "a"}, {"id": "u1"}]});
        let x = parse(
            r#"eventType eq "user.lifecycle.deactivate" and target.id eq "u1""#,
            EVENT_ATTRIBUTES,
        )
        .unwrap();
        assert!(matches(&x, &event));
    }
}
