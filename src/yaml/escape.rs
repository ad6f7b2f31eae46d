//! Escaping values as YAML scalars.
//!
//! Templates print every value through [`scalar`]: a string is written plain when that
//! is unambiguous, and double-quoted with escapes otherwise, so no plan value can add
//! YAML structure (new keys, list items, comments, documents) or change type.

/// Writes `s` as a YAML scalar that parses back to exactly the string `s`.
pub fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

/// Whether `s` can be written unquoted and still read back as the same string under
/// both YAML 1.1 and 1.2 rules: a letter or `_` first, then only letters, digits and
/// `-._/`, and not one of the words YAML 1.1 reads as booleans or null.
pub fn is_plain_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return false;
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/')) {
        return false;
    }
    const RESERVED: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null"];
    !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

/// Whether `s` can be written unquoted and read back as the same string by a YAML 1.2
/// reader (the core schema, as plans are read): only letters, digits and `-._/`, a
/// letter, digit or `_` first, and not a null, boolean or number there. So `yes`, `off`
/// and `2001-12-14` (strings in YAML 1.2) qualify; `2`, `1e3` and `null` do not. Plans
/// follow YAML 1.2; generated manifests, which kubectl reads as YAML 1.1, use
/// [`is_plain_safe`].
pub fn is_plain_safe_in_1_2(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphanumeric() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/'))
        && super::plain_is_string(s)
}

/// Writes `s` as a YAML double-quoted scalar, escaping `"`, `\` and every character
/// that is not printable in YAML (C0 and C1 controls, DEL, line and paragraph
/// separators, BOM, non-characters).
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes `s` as a YAML single-quoted scalar (a `'` doubled), or `None` when `s` holds
/// a line break or a character that only a double-quoted scalar can escape.
pub fn single_quoted(s: &str) -> Option<String> {
    if s.chars().any(|c| c == '\n' || c == '\r' || needs_escape(c)) {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', "''")))
}

/// Whether `s` can be written as the one content line of a block scalar (`|-`, `>-`)
/// and read back as `s`: not empty, no leading space or tab (they would count as
/// indentation), no line break, nothing that needs escaping.
pub fn fits_block_line(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with([' ', '\t'])
        && !s.chars().any(|c| c == '\n' || c == '\r' || needs_escape(c))
}

/// `s` for the text of a YAML comment: every line break and character a double-quoted
/// scalar would escape becomes U+FFFD, so the comment stays one comment line (a file name
/// with a newline cannot start a new key).
pub fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if needs_escape(c) { '\u{FFFD}' } else { c })
        .collect()
}

fn needs_escape(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7F..=0x9F).contains(&u)
        || u == 0x2028
        || u == 0x2029
        || u == 0xFEFF
        || u == 0xFFFE
        || u == 0xFFFF
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn comments_stay_one_line() {
        let text = "a\nb: 1\r\u{2028}\u{85}c";
        let line = format!("k: v  # {}\n", comment(text));
        assert_eq!(line.lines().count(), 1);
        let v: serde_yaml::Value = serde_yaml::from_str(&line).unwrap();
        assert_eq!(v["k"], "v");
        assert_eq!(comment("plain/path.yaml:3"), "plain/path.yaml:3");
    }

    fn parses_back(s: &str) -> String {
        let doc = format!("key: {}\n", scalar(s));
        let v: serde_yaml::Value =
            serde_yaml::from_str(&doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
        match &v["key"] {
            serde_yaml::Value::String(got) => got.clone(),
            other => panic!("{doc:?} parsed to {other:?}"),
        }
    }

    #[test]
    fn plain_in_plans_when_yaml_1_2_reads_a_string() {
        // What the plan's own reader makes of `k: <s>`.
        let read = |s: &str| {
            let doc = crate::yaml::parse(&format!("k: {s}\n")).unwrap().unwrap();
            match doc.value {
                crate::yaml::Value::Map(entries) => entries[0].1.as_str().map(str::to_owned),
                _ => None,
            }
        };
        for s in [
            "yes",
            "off",
            "N",
            "2001-12-14",
            "1.2.3",
            "0x1g",
            "weight-10",
            "v1e3",
        ] {
            assert!(is_plain_safe_in_1_2(s), "{s}");
            assert_eq!(read(s).as_deref(), Some(s));
        }
        for s in [
            "2",
            "-3",
            "0x1f",
            "0o7",
            "1e3",
            ".5",
            "1.",
            "true",
            "False",
            "null",
            "~",
            "",
            ".inf",
            "-.inf",
            ".nan",
            "99999999999999999999",
            "a b",
            "a:b",
            "#x",
            "-x",
        ] {
            assert!(!is_plain_safe_in_1_2(s), "{s}");
        }
    }

    #[test]
    fn plain_when_unambiguous() {
        assert_eq!(scalar("cr-service-entry.com"), "cr-service-entry.com");
        assert_eq!(scalar("networking.istio.io/v1"), "networking.istio.io/v1");
        for tricky in [
            "", "10", "1e3", "true", "Yes", "off", "null", "~", "-a", "a: b", "a #b", "*x", "&x",
            "!x", "{{ x }}", "0x1f", ".inf",
        ] {
            assert!(scalar(tricky).starts_with('"'), "{tricky}");
        }
    }

    #[test]
    fn hostile_values_round_trip() {
        for s in [
            "a\nb: c",
            "x\"\n- evil",
            "tab\there",
            "nul\0byte",
            "\u{2028}sep",
            "\u{85}nel",
            "back\\slash",
            "'single'",
            "# comment",
            "---",
            "...",
            "{{ inject }}",
            "\u{feff}bom",
            "é日本",
        ] {
            assert_eq!(parses_back(s), s);
        }
    }

    proptest! {
        #[test]
        fn any_string_round_trips(s in any::<String>()) {
            prop_assert_eq!(parses_back(&s), s);
        }

        #[test]
        fn any_short_ascii_round_trips(s in "[ -~\\n\\t]{0,12}") {
            prop_assert_eq!(parses_back(&s), s);
        }
    }
}
