//! RFC 4515 LDAP search filters: a syntax check for tenant-supplied filters and escaping for
//! values that go into filters dirsync builds.

/// Escapes a value for use inside a filter (RFC 4515 section 3).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '*' | '(' | ')' | '\\' | '\0' => out.push_str(&format!("\\{:02x}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

/// Checks that `filter` is one well-formed RFC 4515 filter, parenthesised.
pub fn check(filter: &str) -> Result<(), String> {
    if filter.len() > 4096 {
        return Err("must be at most 4096 characters".into());
    }
    let bytes = filter.trim().as_bytes();
    let mut parser = Parser {
        bytes,
        pos: 0,
        depth: 0,
    };
    parser.filter()?;
    if parser.pos != bytes.len() {
        return Err(format!(
            "unexpected text after the filter at position {}",
            parser.pos
        ));
    }
    Ok(())
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.bytes.get(self.pos) == Some(&b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected '{}' at position {}", b as char, self.pos))
        }
    }

    fn filter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > 50 {
            return Err("is nested too deeply".into());
        }
        self.expect(b'(')?;
        match self.bytes.get(self.pos) {
            Some(b'&') | Some(b'|') => {
                self.pos += 1;
                let mut count = 0;
                while self.bytes.get(self.pos) == Some(&b'(') {
                    self.filter()?;
                    count += 1;
                }
                if count == 0 {
                    return Err(format!(
                        "'&' or '|' needs at least one filter (position {})",
                        self.pos
                    ));
                }
            }
            Some(b'!') => {
                self.pos += 1;
                self.filter()?;
            }
            _ => self.item()?,
        }
        self.expect(b')')?;
        self.depth -= 1;
        Ok(())
    }

    /// attr (= | ~= | >= | <= | :...:=) value, with RFC 4515 escapes in the value.
    fn item(&mut self) -> Result<(), String> {
        let start = self.pos;
        while let Some(&b) = self.bytes.get(self.pos) {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b';' | b'.' | b':') {
                self.pos += 1;
            } else {
                break;
            }
        }
        if self.pos == start {
            return Err(format!("expected an attribute name at position {start}"));
        }
        match self.bytes.get(self.pos) {
            Some(b'=') => self.pos += 1,
            Some(b'~') | Some(b'>') | Some(b'<') => {
                self.pos += 1;
                self.expect(b'=')?;
            }
            _ => {
                return Err(format!(
                    "expected '=', '~=', '>=' or '<=' at position {}",
                    self.pos
                ))
            }
        }
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b')' => return Ok(()),
                b'(' | 0 => {
                    return Err(format!(
                        "unescaped '{}' in a value at position {}",
                        b as char, self.pos
                    ))
                }
                b'\\' => {
                    let hex = self.bytes.get(self.pos + 1..self.pos + 3);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return Err(format!(
                            "'\\' must be followed by two hex digits at position {}",
                            self.pos
                        ));
                    }
                    self.pos += 3;
                }
                _ => self.pos += 1,
            }
        }
        Err("the filter is not closed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_well_formed_filters() {
        for f in [
            "(cn=x)",
            "(&(objectClass=user)(cn=sales*))",
            "(|(a=1)(!(b=2)))",
            "(cn=a\\2ab)",
            "(memberOf:1.2.840.113556.1.4.1941:=cn=g,dc=x)",
            "(uid>=10)",
        ] {
            assert_eq!(check(f), Ok(()), "{f}");
        }
    }

    #[test]
    fn rejects_malformed_filters() {
        for f in [
            "",
            "cn=x",
            "(cn=x",
            "(cn=x))",
            "(&)",
            "(=x)",
            "(cn=a(b)",
            "(cn=\\zz)",
            "(cn~x)",
        ] {
            assert!(check(f).is_err(), "{f}");
        }
    }

    #[test]
    fn escapes_special_characters() {
        assert_eq!(escape("a*(b)\\c"), "a\\2a\\28b\\29\\5cc");
        assert_eq!(escape("Jörg*"), "Jörg\\2a");
        assert_eq!(check(&format!("(cn={})", escape("x)(uid=*"))), Ok(()));
    }
}
