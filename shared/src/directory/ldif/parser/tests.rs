use proptest::prelude::*;

use super::*;

fn err_of(text: &str) -> LdifError {
    parse_ldif(text).unwrap_err()
}

#[test]
fn parses_version_comments_folding_base64_and_crlf() {
    let text = "# exported for tests\r\n\
                #  a folded\r\n  comment line\r\n\
                version: 1\r\n\
                \r\n\
                dn: uid=zoe,ou=People,\r\n dc=example,dc=com\r\n\
                objectClass: inetOrgPerson\r\n\
                cn:: Wm/DqyDDhW5nc3Ryw7Zt\r\n\
                cn;lang-de: Zoe\r\n\
                description: a long value that\r\n  continues with its space\r\n\
                jpegPhoto:: AP8Q\r\n\
                \r\n\r\n\r\n\
                dn:: dWlkPWpvc8OpLGRjPWV4YW1wbGU=\r\n\
                mail:\r\n";
    let entries = parse_ldif(text).unwrap();
    assert_eq!(entries.len(), 2);
    let zoe = &entries[0];
    assert_eq!(zoe.dn, "uid=zoe,ou=People,dc=example,dc=com");
    assert_eq!(zoe.attributes.get_str("CN"), Some("Zoë Ångström"));
    assert_eq!(zoe.attributes.get_all("cn").len(), 2);
    assert_eq!(
        zoe.attributes.get_str("description"),
        Some("a long value that continues with its space")
    );
    assert_eq!(
        zoe.attributes.get_bytes("jpegphoto"),
        Some([0, 255, 16].as_slice())
    );
    assert_eq!(entries[1].dn, "uid=josé,dc=example");
    assert_eq!(entries[1].attributes.get_str("mail"), Some(""));
}

#[test]
fn version_may_be_followed_directly_by_an_entry() {
    let entries = parse_ldif("version: 1\ndn: cn=a\ncn: a\n").unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(err_of("version: 2\n\ndn: cn=a\n").line, 1);
}

#[test]
fn empty_and_comment_only_texts_have_no_entries() {
    assert!(parse_ldif("").unwrap().is_empty());
    assert!(parse_ldif("\n\n# nothing\n \n").unwrap().is_empty());
}

#[test]
fn refusals_name_their_line() {
    let cases: [(&str, usize, &str); 9] = [
        (
            "dn: cn=a\njpegPhoto:< file:///etc/passwd\n",
            2,
            "file references",
        ),
        ("dn: cn=a\nchangetype: add\ncn: a\n", 2, "change records"),
        ("dn: cn=a\ncn: a\nno colon here\n", 3, "no ':'"),
        ("dn: cn=a\n\ncn:: @@@@\n", 3, "must start with 'dn:'"),
        ("dn: cn=a\ncn:: @@@@\n", 2, "invalid base64"),
        ("cn: a\nsn: b\n", 1, "must start with 'dn:'"),
        ("\n\ndn:: /w==\n", 3, "not valid UTF-8"),
        ("dn: cn=a\ncn: :leading colon\n", 2, "base64-encoded"),
        ("dn: cn=a\ncn: a\ndn: cn=b\n", 3, "second 'dn:'"),
    ];
    for (text, line, message) in cases {
        let err = err_of(text);
        assert_eq!(err.line, line, "{text:?}: {err}");
        assert!(err.message.contains(message), "{text:?}: {err}");
    }
}

#[test]
fn a_leading_continuation_and_bad_names_are_refused() {
    assert_eq!(err_of(" dn: cn=a\n").line, 1);
    assert_eq!(err_of("dn: cn=a\nbad name: x\n").line, 2);
    assert_eq!(err_of("dn: cn=a\ncn;: x\n").line, 2);
    assert_eq!(err_of("dn:\n").line, 1);
}

#[test]
fn a_ldapsearch_trailer_is_skipped_unless_the_search_failed() {
    let ok =
        "dn: cn=a\ncn: a\n\n# search result\nsearch: 2\nresult: 0 Success\n\n# numEntries: 1\n";
    assert_eq!(parse_ldif(ok).unwrap().len(), 1);
    let cut = "dn: cn=a\ncn: a\n\nsearch: 2\nresult: 4 Size limit exceeded\n";
    let err = err_of(cut);
    assert_eq!(err.line, 5);
    assert!(err.message.contains("incomplete"), "{err}");
}

#[test]
fn base64_without_padding_is_accepted() {
    let entries = parse_ldif("dn: cn=a\ncn:: QQ\n").unwrap();
    assert_eq!(entries[0].attributes.get_str("cn"), Some("A"));
}

#[test]
fn a_bom_is_ignored() {
    assert_eq!(parse_ldif("\u{feff}dn: cn=a\n").unwrap()[0].dn, "cn=a");
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = parse_ldif(&text);
    }

    #[test]
    fn ldif_shaped_text_never_panics(
        lines in proptest::collection::vec(
            "(dn|cn|mail|version|changetype|#|)(:|::|:<|;x:)? ?[ -~é\\r]{0,12}|[ ]{0,2}[a-z=,]{0,6}",
            0..20,
        )
    ) {
        let _ = parse_ldif(&lines.join("\n"));
    }
}
