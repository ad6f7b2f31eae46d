//! How a YAML 1.1 reader and a YAML 1.2 reader read the same text.
//!
//! The event stream comes from `saphyr-parser` (a YAML 1.2 parser); what differs between
//! the two versions is how plain scalars resolve, which characters break lines, and which
//! tags a reader knows. Plain scalars are resolved here by both versions' rules, written
//! as the specifications' regular expressions:
//!
//! - YAML 1.2: the core schema (yaml.org/spec/1.2.2, 10.3.2);
//! - YAML 1.1: the type repository (yaml.org/type: bool, int, float, null, timestamp,
//!   merge, value), with the int and float expressions as PyYAML, the reference YAML 1.1
//!   reader, implements them (`1.2.3` and `1e3` are strings, `012` is octal, `1:20` is
//!   sexagesimal, `1_000` is an integer).
//!
//! Nothing here uses cutover's own YAML reader or writer: the oracles must not share the
//! code they check.

use std::sync::OnceLock;

use regex::Regex;
use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

/// What a plain scalar reads as.
#[derive(Clone, Debug, PartialEq)]
pub enum Read {
    Null,
    Bool(bool),
    /// An integer (as decimal digits with sign, so that any size compares).
    Int(String),
    Float(f64),
    Timestamp,
    /// The YAML 1.1 merge key `<<`.
    Merge,
    /// The YAML 1.1 value key `=`.
    Value,
    Str,
}

impl Read {
    fn name(&self) -> &'static str {
        match self {
            Read::Null => "null",
            Read::Bool(_) => "a boolean",
            Read::Int(_) => "an integer",
            Read::Float(_) => "a float",
            Read::Timestamp => "a timestamp",
            Read::Merge => "a merge key",
            Read::Value => "a value key",
            Read::Str => "a string",
        }
    }

    fn same(&self, other: &Read) -> bool {
        match (self, other) {
            (Read::Float(a), Read::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            _ => self == other,
        }
    }
}

struct Rules {
    null12: Regex,
    bool12: Regex,
    int12: Regex,
    float12: Regex,
    null11: Regex,
    bool11: Regex,
    int11: Regex,
    float11: Regex,
    timestamp11: Regex,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("a valid expression");
        Rules {
            null12: re(r"^(?:null|Null|NULL|~|)$"),
            bool12: re(r"^(?:true|True|TRUE|false|False|FALSE)$"),
            int12: re(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
            float12: re(
                r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            ),
            null11: re(r"^(?:~|null|Null|NULL|)$"),
            bool11: re(
                r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            ),
            int11: re(
                r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            ),
            float11: re(
                r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            ),
            timestamp11: re(
                r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)$",
            ),
        }
    })
}

/// Sign and digits of `digits` (no sign) read in `radix`, as a decimal string; `None` when
/// there are no digits.
fn integer(negative: bool, digits: &str, radix: u32) -> Option<String> {
    let mut value: Vec<u32> = vec![0]; // little-endian base-1e9 limbs: any size
    let mut any = false;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        any = true;
        let mut carry = u64::from(d);
        for limb in &mut value {
            let x = u64::from(*limb) * u64::from(radix) + carry;
            *limb = (x % 1_000_000_000) as u32;
            carry = x / 1_000_000_000;
        }
        while carry > 0 {
            value.push((carry % 1_000_000_000) as u32);
            carry /= 1_000_000_000;
        }
    }
    if !any {
        return None;
    }
    let mut s = value.last().map(u32::to_string).unwrap_or_default();
    for limb in value.iter().rev().skip(1) {
        s.push_str(&format!("{limb:09}"));
    }
    Some(if negative && s != "0" {
        format!("-{s}")
    } else {
        s
    })
}

fn sign(t: &str) -> (bool, &str) {
    match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    }
}

fn float(t: &str) -> Read {
    let (neg, body) = sign(t);
    let v = match body.to_ascii_lowercase().as_str() {
        ".inf" => f64::INFINITY,
        ".nan" => f64::NAN,
        _ => body.parse::<f64>().unwrap_or(f64::NAN),
    };
    Read::Float(if neg { -v } else { v })
}

/// A plain scalar under the YAML 1.2 core schema.
pub fn resolve12(t: &str) -> Read {
    let r = rules();
    if r.null12.is_match(t) {
        Read::Null
    } else if r.bool12.is_match(t) {
        Read::Bool(t.starts_with(['t', 'T']))
    } else if r.int12.is_match(t) {
        let int = if let Some(h) = t.strip_prefix("0x") {
            integer(false, h, 16)
        } else if let Some(o) = t.strip_prefix("0o") {
            integer(false, o, 8)
        } else {
            let (neg, d) = sign(t);
            integer(neg, d, 10)
        };
        int.map_or(Read::Str, Read::Int)
    } else if r.float12.is_match(t) {
        float(t)
    } else {
        Read::Str
    }
}

/// A plain scalar under the YAML 1.1 types.
pub fn resolve11(t: &str) -> Read {
    let r = rules();
    if t == "<<" {
        return Read::Merge;
    }
    if t == "=" {
        return Read::Value;
    }
    if r.null11.is_match(t) {
        Read::Null
    } else if r.bool11.is_match(t) {
        Read::Bool(matches!(
            t.to_ascii_lowercase().as_str(),
            "y" | "yes" | "true" | "on"
        ))
    } else if r.int11.is_match(t) {
        let (neg, body) = sign(t);
        let body = body.replace('_', "");
        let int = if let Some(b) = body.strip_prefix("0b") {
            integer(neg, b, 2)
        } else if let Some(h) = body.strip_prefix("0x") {
            integer(neg, h, 16)
        } else if body.contains(':') {
            sexagesimal(neg, &body)
        } else if body.len() > 1 && body.starts_with('0') {
            integer(neg, &body[1..], 8)
        } else {
            integer(neg, &body, 10)
        };
        int.map_or(Read::Str, Read::Int)
    } else if r.float11.is_match(t) {
        let (neg, body) = sign(t);
        let body = body.replace('_', "");
        if body.contains(':') {
            let mut v = 0f64;
            for part in body.split(':') {
                v = v * 60.0 + part.parse::<f64>().unwrap_or(f64::NAN);
            }
            Read::Float(if neg { -v } else { v })
        } else {
            float(&format!("{}{body}", if neg { "-" } else { "" }))
        }
    } else if r.timestamp11.is_match(t) {
        Read::Timestamp
    } else {
        Read::Str
    }
}

fn sexagesimal(neg: bool, body: &str) -> Option<String> {
    let mut v: i128 = 0;
    for part in body.split(':') {
        v = v.checked_mul(60)?.checked_add(part.parse::<i128>().ok()?)?;
    }
    Some(if neg { (-v).to_string() } else { v.to_string() })
}

fn is_core(tag: &Tag) -> bool {
    tag.is_yaml_core_schema()
}

/// A tag as written in a document: `!!int`, `!env`, `!`.
fn tag_text(tag: &Tag) -> String {
    if is_core(tag) {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// A short, single-line rendering of a scalar for messages.
pub fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// Every way the YAML 1.1 and the YAML 1.2 reading of `text` differ; `Err` when it is
/// not YAML 1.2 at all.
pub fn disagreements(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for c in ['\u{85}', '\u{2028}', '\u{2029}'] {
        if text.contains(c) {
            out.push(format!(
                "a raw U+{:04X} is a line break to a YAML 1.1 reader and text to a YAML 1.2 reader",
                c as u32
            ));
        }
    }
    for event in Parser::new_from_str(text) {
        let (event, _) = event.map_err(|e| e.to_string())?;
        match event {
            Event::Scalar(value, ScalarStyle::Plain, _, None) => {
                let (a, b) = (resolve11(&value), resolve12(&value));
                if !a.same(&b) {
                    out.push(format!(
                        "plain `{}` reads as {} in YAML 1.1 and as {} in YAML 1.2",
                        shown(&value),
                        a.name(),
                        b.name()
                    ));
                }
            }
            Event::Scalar(_, _, _, Some(tag))
            | Event::SequenceStart(_, Some(tag))
            | Event::MappingStart(_, Some(tag))
                if !is_core(&tag) =>
            {
                out.push(format!(
                    "custom tag `{}`: readers keep, drop or refuse it",
                    shown(&tag_text(&tag))
                ));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Tags in `text` that do not fit their value (`!!int b.example.com`), or that are not
/// the core schema's (`!foo`, `!!binary`): a reader must refuse these.
pub fn misfit_tags(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let events: Vec<(Event<'_>, Span)> = Parser::new_from_str(text).map_while(Result::ok).collect();
    for (event, _) in events {
        let (tag, what) = match &event {
            Event::Scalar(v, _, _, Some(t)) => (t.clone(), Some(v.clone())),
            Event::SequenceStart(_, Some(t)) => (t.clone(), None),
            Event::MappingStart(_, Some(t)) => (t.clone(), None),
            _ => continue,
        };
        let fits = is_core(&tag)
            && match (tag.suffix.as_str(), &event, what.as_deref()) {
                ("str", _, Some(_)) => true,
                ("int", _, Some(v)) => matches!(resolve12(v), Read::Int(_)),
                ("float", _, Some(v)) => matches!(resolve12(v), Read::Float(_) | Read::Int(_)),
                ("bool", _, Some(v)) => matches!(resolve12(v), Read::Bool(_)),
                ("null", _, Some(v)) => resolve12(v) == Read::Null,
                ("seq", Event::SequenceStart(..), None) => true,
                ("map", Event::MappingStart(..), None) => true,
                _ => false,
            };
        if !fits {
            out.push(match what {
                Some(v) => format!("tag `{}` on `{}`", tag_text(&tag), shown(&v)),
                None => format!("tag `{}` on a collection", tag_text(&tag)),
            });
        }
    }
    out
}

/// The style of the scalar that starts at character `index` of `text`, if one does.
pub fn style_at(text: &str, index: usize) -> Option<&'static str> {
    for event in Parser::new_from_str(text) {
        let (event, span) = event.ok()?;
        if let Event::Scalar(_, style, _, _) = event {
            if span.start.index() == index {
                return Some(match style {
                    ScalarStyle::Plain => "plain",
                    ScalarStyle::SingleQuoted => "single-quoted",
                    ScalarStyle::DoubleQuoted => "double-quoted",
                    ScalarStyle::Literal => "literal block",
                    ScalarStyle::Folded => "folded block",
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_words_and_numbers() {
        for t in ["y", "n", "yes", "No", "ON", "off"] {
            assert!(matches!(resolve11(t), Read::Bool(_)), "{t}");
            assert_eq!(resolve12(t), Read::Str, "{t}");
        }
        assert_eq!(resolve11("012"), Read::Int("10".into()));
        assert_eq!(resolve12("012"), Read::Int("12".into()));
        assert_eq!(resolve11("1:20"), Read::Int("80".into()));
        assert_eq!(resolve12("1:20"), Read::Str);
        assert_eq!(resolve11("0b101"), Read::Int("5".into()));
        assert_eq!(resolve11("1_000"), Read::Int("1000".into()));
        assert_eq!(resolve11("~"), Read::Null);
        assert_eq!(resolve12("~"), Read::Null);
        assert_eq!(resolve11("2001-12-14"), Read::Timestamp);
        assert_eq!(resolve12("2001-12-14"), Read::Str);
        assert!(resolve11(".inf").same(&resolve12(".inf")));
        assert!(resolve11(".NaN").same(&resolve12(".NaN")));
        assert_eq!(resolve11("1e400"), Read::Str);
        assert_eq!(resolve12("1e400"), Read::Float(f64::INFINITY));
        assert_eq!(resolve11("1.2.3"), Read::Str);
        assert_eq!(resolve12("0o17"), Read::Int("15".into()));
        assert_eq!(resolve11("0o17"), Read::Str);
        assert_eq!(
            resolve12("99999999999999999999999"),
            Read::Int("99999999999999999999999".into())
        );
        for same in [
            "10",
            "-3",
            "1.5",
            "0",
            "0x1F",
            "true",
            "null",
            "a.example.com",
            "",
        ] {
            assert!(resolve11(same).same(&resolve12(same)), "{same}");
        }
    }

    #[test]
    fn finds_disagreements() {
        let d = disagreements("a: 1e400\nb: yes\nc: 'yes'\nd: !foo x\ne: \"\u{2028}\"\n").unwrap();
        assert_eq!(d.len(), 4, "{d:?}");
        assert!(disagreements("a: [b\n").is_err());
        assert!(disagreements("a: b.example.com\nw: 10\n")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn finds_misfit_tags() {
        assert_eq!(misfit_tags("to: !!int b.example.com\n").len(), 1);
        assert_eq!(
            misfit_tags("a: !!int 10\nb: !!str 10\nc: !!float 1\n").len(),
            0
        );
        assert_eq!(
            misfit_tags("a: !!binary aGk=\nb: !env x\nc: ! y\n"),
            [
                "tag `!!binary` on `aGk=`",
                "tag `!env` on `x`",
                "tag `!` on `y`"
            ]
        );
    }

    #[test]
    fn finds_styles() {
        let text = "a: x\nb: 'y'\nc: |-\n  z\n";
        assert_eq!(style_at(text, 3), Some("plain"));
        assert_eq!(style_at(text, 8), Some("single-quoted"));
    }
}
