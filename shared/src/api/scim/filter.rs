//! SCIM filters (RFC 7644 section 3.4.2.2): `userName eq "a@b.c" and active eq true`,
//! `emails[type eq "work" and value co "@example.com"]`, `not (title pr)`. Every attribute
//! is checked against the kept schema when parsed: an unknown one, an operator dirsync does
//! not know or a malformed expression is a 400 `invalidFilter`, never a silent "no match".

use serde_json::Value;

use super::error::{ScimError, ScimType};
use super::path::{AttrPath, Scope};

/// Longest filter taken, and deepest nesting of parentheses, `not` and `[...]`.
const MAX_LEN: usize = 4096;
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(AttrPath),
    Compare(AttrPath, Op, Value),
    /// `attr[filter]`: the inner filter's paths are the attribute's sub-attributes.
    Within(AttrPath, Box<Filter>),
}

fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad(ScimType::InvalidFilter, detail)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Word(String),
    Text(String),
}

fn tokens(input: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| invalid("a string is not closed"))?;
                let text: String = serde_json::from_str(&input[start..=end])
                    .map_err(|_| invalid("a string has an invalid escape"))?;
                out.push(Token::Text(text));
            }
            _ => {
                let mut end = input.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                out.push(Token::Word(input[start..end].to_string()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    scope: Scope,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn deeper(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(invalid(format!("filters nest at most {MAX_DEPTH} deep")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.next();
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.next();
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.keyword("not") {
            self.next();
            self.deeper()?;
            if self.next() != Some(Token::Open) {
                return Err(invalid("`not` must be followed by `(`"));
            }
            let inner = self.group()?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::Open) {
            self.next();
            self.deeper()?;
            let inner = self.group()?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.expression()
    }

    /// The rest of `( filter )`, after its `(`.
    fn group(&mut self) -> Result<Filter, ScimError> {
        let inner = self.or()?;
        match self.next() {
            Some(Token::Close) => Ok(inner),
            _ => Err(invalid("a `(` is not closed")),
        }
    }

    fn expression(&mut self) -> Result<Filter, ScimError> {
        let Some(Token::Word(name)) = self.next() else {
            return Err(invalid("an attribute name was expected"));
        };
        let path = self.scope.resolve(&name).map_err(invalid)?;
        match self.next() {
            Some(Token::OpenBracket) => {
                if path.sub.is_some() || !path.is_complex_multi() {
                    return Err(invalid(format!(
                        "`{}[...]` needs a multi-valued complex attribute",
                        path.display()
                    )));
                }
                self.deeper()?;
                let outer = std::mem::replace(&mut self.scope, path.inner_scope());
                let inner = self.or();
                self.scope = outer;
                let inner = inner?;
                self.depth -= 1;
                match self.next() {
                    Some(Token::CloseBracket) => Ok(Filter::Within(path, Box::new(inner))),
                    _ => Err(invalid("a `[` is not closed")),
                }
            }
            Some(Token::Word(op)) if op.eq_ignore_ascii_case("pr") => Ok(Filter::Present(path)),
            Some(Token::Word(op)) => {
                let op = match op.to_ascii_lowercase().as_str() {
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "co" => Op::Co,
                    "sw" => Op::Sw,
                    "ew" => Op::Ew,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    _ => {
                        return Err(invalid(
                            "unknown operator: use eq, ne, co, sw, ew, gt, ge, lt, le or pr",
                        ))
                    }
                };
                let value = match self.next() {
                    Some(Token::Text(text)) => Value::String(text),
                    Some(Token::Word(word)) => match word.to_ascii_lowercase().as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        _ => serde_json::from_str::<serde_json::Number>(&word)
                            .map(Value::Number)
                            .map_err(|_| invalid("a comparison value must be a quoted string, true, false, null or a number"))?,
                    },
                    _ => return Err(invalid("a comparison value was expected")),
                };
                Ok(Filter::Compare(path, op, value))
            }
            _ => Err(invalid("an operator was expected after the attribute name")),
        }
    }
}

/// Parses `input` for resources whose attributes `scope` describes.
pub fn parse(input: &str, scope: Scope) -> Result<Filter, ScimError> {
    if input.len() > MAX_LEN {
        return Err(invalid(format!("filters are limited to {MAX_LEN} bytes")));
    }
    let mut parser = Parser {
        tokens: tokens(input)?,
        at: 0,
        depth: 0,
        scope,
    };
    let filter = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(invalid("unexpected text after the end of the filter"));
    }
    Ok(filter)
}

impl Filter {
    /// Whether `object` (a resource as answered, or one value of a multi-valued attribute
    /// for the inside of `[...]`) matches.
    pub fn matches(&self, object: &Value) -> bool {
        match self {
            Self::And(a, b) => a.matches(object) && b.matches(object),
            Self::Or(a, b) => a.matches(object) || b.matches(object),
            Self::Not(inner) => !inner.matches(object),
            Self::Present(path) => path.values(object).iter().any(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            }),
            Self::Compare(path, Op::Eq, Value::Null) => {
                !Self::Present(path.clone()).matches(object)
            }
            Self::Compare(path, Op::Ne, Value::Null) => Self::Present(path.clone()).matches(object),
            Self::Compare(path, Op::Ne, value) => {
                !Self::Compare(path.clone(), Op::Eq, value.clone()).matches(object)
            }
            Self::Compare(path, op, value) => path
                .values(object)
                .iter()
                .any(|have| compare(have, *op, value, path.case_exact)),
            Self::Within(path, inner) => path
                .values(object)
                .iter()
                .any(|element| inner.matches(element)),
        }
    }
}

fn compare(have: &Value, op: Op, want: &Value, case_exact: bool) -> bool {
    // `emails eq "a@b.c"`: a complex value compares by its `value`.
    let have = match have {
        Value::Object(object) => match object.get("value") {
            Some(value) => value,
            None => return false,
        },
        other => other,
    };
    match (have, want) {
        (Value::String(have), Value::String(want)) => {
            let (have, want) = if case_exact {
                (have.clone(), want.clone())
            } else {
                (have.to_lowercase(), want.to_lowercase())
            };
            match op {
                Op::Eq => have == want,
                Op::Ne => have != want,
                Op::Co => have.contains(&want),
                Op::Sw => have.starts_with(&want),
                Op::Ew => have.ends_with(&want),
                Op::Gt => have > want,
                Op::Ge => have >= want,
                Op::Lt => have < want,
                Op::Le => have <= want,
            }
        }
        (Value::Bool(have), Value::Bool(want)) => match op {
            Op::Eq => have == want,
            Op::Ne => have != want,
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PushedKind;
    use serde_json::json;

    fn user(filter: &str) -> Result<Filter, ScimError> {
        parse(filter, Scope::resource(PushedKind::User))
    }

    fn bob() -> Value {
        json!({
            "id": "u-1", "userName": "Bob@Example.com", "externalId": "Ext-1", "active": true,
            "name": {"givenName": "Bob", "familyName": "Smith"},
            "emails": [{"value": "bob@example.com", "type": "work", "primary": true},
                       {"value": "bob@home.example", "type": "home"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
            "meta": {"lastModified": "2031-01-02T00:00:00Z"},
        })
    }

    #[test]
    fn the_filters_identity_providers_send_match() {
        let bob = bob();
        for (filter, expected) in [
            (r#"userName eq "bob@example.com""#, true),
            (r#"USERNAME Eq "BOB@EXAMPLE.COM""#, true),
            (r#"externalId eq "Ext-1""#, true),
            (r#"externalId eq "ext-1""#, false),
            (r#"id eq "u-1""#, true),
            (r#"name.givenName sw "B" and active eq true"#, true),
            (r#"active eq false or title pr"#, false),
            (
                r#"emails[type eq "work" and value co "@example.com"]"#,
                true,
            ),
            (
                r#"emails[type eq "home" and value co "@example.com"]"#,
                false,
            ),
            (r#"emails eq "bob@home.example""#, true),
            (r#"emails.type eq "home""#, true),
            (r#"not (title pr)"#, true),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales""#,
                true,
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName ew "example.com""#,
                true,
            ),
            (r#"meta.lastModified gt "2031-01-01T00:00:00Z""#, true),
            (r#"title eq null"#, true),
            (
                r#"(userName eq "x" or userName eq "bob@example.com") and not (active eq false)"#,
                true,
            ),
        ] {
            assert_eq!(user(filter).unwrap().matches(&bob), expected, "{filter}");
        }
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors() {
        for filter in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"nosuch eq "a""#,
            r#"name.nosuch eq "a""#,
            r#"userName eq "a" and"#,
            r#"userName eq "a"))"#,
            r#"(userName eq "a""#,
            r#"userName eq "unterminated"#,
            r#"emails[type eq "work""#,
            r#"userName[value eq "a"]"#,
            r#"userName eq bare"#,
            r#"not userName pr"#,
            r#"urn:other:schema:userName eq "a""#,
        ] {
            let error = user(filter).unwrap_err();
            assert_eq!(error.scim_type, Some(ScimType::InvalidFilter), "{filter}");
        }
        let deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
        assert!(user(&deep).is_err());
        assert!(user(&"a".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn group_filters_know_the_group_schema() {
        let group = json!({"id": "g", "displayName": "Sales", "members": [{"value": "u-1"}]});
        let scope = || Scope::resource(PushedKind::Group);
        assert!(parse(r#"displayName eq "sales""#, scope())
            .unwrap()
            .matches(&group));
        assert!(parse(r#"members[value eq "u-1"]"#, scope())
            .unwrap()
            .matches(&group));
        assert!(!parse(r#"members[value eq "U-1"]"#, scope())
            .unwrap()
            .matches(&group));
        assert!(parse(r#"userName eq "a""#, scope()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics(input in "\\PC{0,80}") {
            if let Ok(filter) = user(&input) {
                let _ = filter.matches(&bob());
            }
        }
    }
}
