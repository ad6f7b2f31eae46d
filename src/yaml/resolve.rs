//! What a plain scalar (unquoted, untagged) reads as, in YAML 1.2 and in YAML 1.1 as
//! kubectl reads manifests: for `lint`, which reports the values the two disagree on.
//!
//! - [`yaml12`]: YAML 1.2's core schema (yaml.org/spec/1.2.2, 10.3.2). `serde_yaml`, which
//!   reads manifests for cutover, differs from it on a few forms (`012` is a string to
//!   it, the integer 12 to YAML 1.2), so `lint` checks a manifest as this reads it.
//! - [`kubectl`]: client-go's `sigs.k8s.io/yaml` (kubectl, Argo CD, Flux), which reads
//!   YAML with go-yaml v2's `resolve`: `yes`, `on`, `y` are booleans, `012` is octal
//!   (10), `1_000` is 1000, `0X1F` is 31; timestamps stay strings; a float out of range
//!   (`1e400`) is a string.

/// What a plain scalar reads as.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reading {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float (infinite or NaN included).
    Float(f64),
    /// A string: the scalar's own text.
    Str,
}

impl Reading {
    /// Whether two readings are the same value. Numbers compare by value: 9 and 9.0 are
    /// one JSON number to the API server.
    pub fn same(&self, other: &Reading) -> bool {
        match (*self, *other) {
            (Reading::Float(a), Reading::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Reading::Int(i), Reading::Float(f)) | (Reading::Float(f), Reading::Int(i)) => {
                i as f64 == f
            }
            (a, b) => a == b,
        }
    }

    /// The reading of the scalar `text` in words: `the integer 12`, `the boolean true`,
    /// `null`, `the string "yes"`.
    pub fn describe(&self, text: &str) -> String {
        match self {
            Reading::Null => "null".to_owned(),
            Reading::Bool(b) => format!("the boolean {b}"),
            Reading::Int(i) => format!("the integer {i}"),
            Reading::Float(f) if f.is_nan() => "the float NaN".to_owned(),
            Reading::Float(f) if f.is_infinite() => {
                format!("the float {}infinity", if *f < 0.0 { "-" } else { "" })
            }
            Reading::Float(f) => format!("the float {f}"),
            Reading::Str => format!("the string {text:?}"),
        }
    }

    /// The reading of the scalar `text` as a JSON value, as [`crate::vs::to_json`] writes
    /// values: non-finite floats, which JSON cannot hold, become their YAML text
    /// (`.inf`), and integers beyond 64 bits floats.
    pub fn to_json(&self, text: &str) -> serde_json::Value {
        use serde_json::Value as Json;
        match *self {
            Reading::Null => Json::Null,
            Reading::Bool(b) => Json::Bool(b),
            Reading::Int(i) => i64::try_from(i)
                .map(Json::from)
                .or_else(|_| u64::try_from(i).map(Json::from))
                .unwrap_or_else(|_| float_json(i as f64)),
            Reading::Float(f) => float_json(f),
            Reading::Str => Json::String(text.to_owned()),
        }
    }
}

fn float_json(f: f64) -> serde_json::Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => serde_json::Value::Number(n),
        None if f.is_nan() => ".nan".into(),
        None if f < 0.0 => "-.inf".into(),
        None => ".inf".into(),
    }
}

/// `s` without a leading `+` or `-`, and whether it was `-`.
fn unsigned(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

/// `digits` in `radix` (at least one digit, nothing else), with a sign.
fn integer(negative: bool, digits: &str, radix: u32) -> Option<i128> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = i128::from_str_radix(digits, radix).ok()?;
    Some(if negative { -n } else { n })
}

/// Whether `s` (no sign) has the form `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`,
/// the float of YAML 1.2's core schema (and of go-yaml v2).
fn float_form(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((int, fraction)) => digits(int) && (fraction.is_empty() || digits(fraction)),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(|e| digits(unsigned(e).1))
}

/// A plain scalar as YAML 1.2's core schema reads it.
pub fn yaml12(text: &str) -> Reading {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Reading::Null,
        "true" | "True" | "TRUE" => return Reading::Bool(true),
        "false" | "False" | "FALSE" => return Reading::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Reading::Float(f64::NAN),
        _ => {}
    }
    if let Some(n) = text.strip_prefix("0x").and_then(|h| integer(false, h, 16)) {
        return Reading::Int(n);
    }
    if let Some(n) = text.strip_prefix("0o").and_then(|o| integer(false, o, 8)) {
        return Reading::Int(n);
    }
    let (negative, rest) = unsigned(text);
    if matches!(rest, ".inf" | ".Inf" | ".INF") {
        return Reading::Float(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
        return match integer(negative, rest, 10) {
            Some(n) => Reading::Int(n),
            None => text.parse().map_or(Reading::Str, Reading::Float),
        };
    }
    if float_form(rest) {
        if let Ok(f) = text.parse() {
            return Reading::Float(f);
        }
    }
    Reading::Str
}

/// A plain scalar as kubectl reads it: go-yaml v2's `resolve`, into a JSON value as
/// `sigs.k8s.io/yaml` converts it.
pub fn kubectl(text: &str) -> Reading {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Reading::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Reading::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => return Reading::Null,
        ".nan" | ".NaN" | ".NAN" => return Reading::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Reading::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Reading::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match text.as_bytes().first() {
        // Go's ParseFloat, which fails (so: a string) out of range.
        Some(b'.') => finite(text),
        Some(b) if b.is_ascii_digit() || *b == b'+' || *b == b'-' => {
            let plain = text.replace('_', "");
            if let Some(n) = go_int(&plain) {
                return Reading::Int(n);
            }
            if float_form(unsigned(&plain).1) {
                return finite(&plain);
            }
            Reading::Str
        }
        _ => Reading::Str,
    }
}

/// A plain scalar as `serde_yaml` reads it, the reader of cutover's own model of a
/// manifest ([`crate::vs`]): it takes `012` for the string "012", `0b11` for the integer 3.
pub fn model(text: &str) -> Reading {
    use serde_yaml::Value;
    // A plain scalar's text, read alone, is that scalar (it cannot start with an
    // indicator); anything else (not a scalar) is taken for a string.
    match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Null) => Reading::Null,
        Ok(Value::Bool(b)) => Reading::Bool(b),
        Ok(Value::Number(n)) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Reading::Int(i.into()),
            (None, Some(u), _) => Reading::Int(u.into()),
            (None, None, Some(f)) => Reading::Float(f),
            _ => Reading::Str,
        },
        _ => Reading::Str,
    }
}

/// A plain scalar value that cutover's reader ([`model`]) and YAML 1.2 ([`yaml12`]) read
/// differently (`012`, `-012`, `00`, `0b1`), said in words: what each reader, kubectl's
/// YAML 1.1 too ([`kubectl`]), makes of it; `None` when they agree.
pub fn misread(text: &str) -> Option<Misread> {
    let (model, v12) = (self::model(text), yaml12(text));
    (!model.same(&v12)).then(|| Misread {
        readings: format!(
            "plain `{text}` is {} to cutover's YAML reader, {} in YAML 1.2 and {} in YAML 1.1, as kubectl reads it",
            model.describe(text),
            v12.describe(text),
            kubectl(text).describe(text)
        ),
        number: match v12 {
            Reading::Int(i) => Some(i.to_string()),
            Reading::Float(f) if f.is_finite() => Some(f.to_string()),
            _ => None,
        },
        string: crate::yaml::escape::double_quoted(text),
    })
}

/// What [`misread`] says of a plain scalar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misread {
    /// What each reader makes of it.
    pub readings: String,
    /// The number YAML 1.2 reads, written as every reader reads it (`12`), if a number.
    pub number: Option<String>,
    /// The scalar written as a string every reader reads alike (`"012"`).
    pub string: String,
}

impl Misread {
    /// How to write it, as a number or as a string.
    pub fn advice(&self) -> String {
        match &self.number {
            Some(n) => format!("write `{n}` for a number or `{}` for a string", self.string),
            None => format!("write `{}` for a string", self.string),
        }
    }
}

/// A float Go's `ParseFloat` reads, or a string when it does not (out of range).
fn finite(text: &str) -> Reading {
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Reading::Float(f),
        _ => Reading::Str,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`, or else `ParseUint(s, 0, 64)`: an optional sign
/// (`ParseInt` only), then `0x`, `0o`, `0b` (either case) or a leading `0` (octal) or
/// decimal digits.
fn go_int(s: &str) -> Option<i128> {
    let (negative, rest) = unsigned(s);
    let lower = rest.get(..2).map(str::to_ascii_lowercase);
    let n = match lower.as_deref() {
        Some("0x") => integer(negative, &rest[2..], 16),
        Some("0o") => integer(negative, &rest[2..], 8),
        Some("0b") => integer(negative, &rest[2..], 2),
        _ if rest.len() > 1 && rest.starts_with('0') => integer(negative, &rest[1..], 8),
        _ => integer(negative, rest, 10),
    }?;
    let signed = s.starts_with(['+', '-']);
    let fits = i64::try_from(n).is_ok() || (!signed && u64::try_from(n).is_ok());
    fits.then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_2_core_schema() {
        for (text, want) in [
            ("012", Reading::Int(12)),
            ("-012", Reading::Int(-12)),
            ("00", Reading::Int(0)),
            ("0o17", Reading::Int(15)),
            ("0x1F", Reading::Int(31)),
            ("1e3", Reading::Float(1000.0)),
            (".5", Reading::Float(0.5)),
            ("1.", Reading::Float(1.0)),
            ("-.inf", Reading::Float(f64::NEG_INFINITY)),
            ("True", Reading::Bool(true)),
            ("~", Reading::Null),
        ] {
            assert!(yaml12(text).same(&want), "{text}: {:?}", yaml12(text));
        }
        for text in [
            "yes",
            "on",
            "y",
            "0X1F",
            "0b1",
            "-0x1F",
            "1_000",
            "1:20",
            "1.2.3",
            "10.0.0.1",
            "2001-12-14",
            "v1",
            "5s",
            "e3",
            ".",
            "1e",
            "+",
        ] {
            assert_eq!(yaml12(text), Reading::Str, "{text}");
        }
        assert!(yaml12("99999999999999999999999999999999999999999").same(&Reading::Float(1e41)));
    }

    #[test]
    fn yaml_1_1_as_kubectl_reads_it() {
        for (text, want) in [
            ("012", Reading::Int(10)),
            ("-012", Reading::Int(-10)),
            ("08", Reading::Float(8.0)),
            ("0X1F", Reading::Int(31)),
            ("0b101", Reading::Int(5)),
            ("-0b101", Reading::Int(-5)),
            ("0o17", Reading::Int(15)),
            ("1_000", Reading::Int(1000)),
            ("1e3", Reading::Float(1000.0)),
            (".5", Reading::Float(0.5)),
            ("yes", Reading::Bool(true)),
            ("Off", Reading::Bool(false)),
            ("y", Reading::Bool(true)),
            (
                "18446744073709551615",
                Reading::Int(18_446_744_073_709_551_615),
            ),
            ("~", Reading::Null),
            // Out of ParseInt's and (signed) ParseUint's range: ParseFloat's.
            (
                "+18446744073709551615",
                Reading::Float(1.8446744073709552e19),
            ),
        ] {
            assert!(kubectl(text).same(&want), "{text}: {:?}", kubectl(text));
        }
        for text in [
            "1e400",
            "1:20",
            "2001-12-14",
            "10.0.0.1",
            "1password.com",
            "-",
            "YeS",
            "v1",
        ] {
            assert_eq!(kubectl(text), Reading::Str, "{text}");
        }
    }

    #[test]
    fn cutovers_reader_and_yaml_1_2_disagree_on_leading_zeros_and_binary() {
        for (text, model_reads) in [
            ("012", Reading::Str),
            ("-012", Reading::Str),
            ("00", Reading::Str),
            ("080", Reading::Str),
            ("0b11", Reading::Int(3)),
            ("-0x1F", Reading::Int(-31)),
            ("+0o17", Reading::Int(15)),
            ("+012", Reading::Str),
            ("1e400", Reading::Str),
            ("99999999999999999999", Reading::Str),
        ] {
            assert_eq!(model(text), model_reads, "{text}");
            assert!(misread(text).is_some(), "{text}");
        }
        for text in [
            "12", "0", "-3", "0x1F", "0o17", "1e3", ".5", "1.", "yes", "1_000", "~", "true", "v1",
            "+12", ".inf", "-.inf", "0.5",
        ] {
            assert_eq!(misread(text), None, "{text}: {:?}", model(text));
        }
        let m = misread("012").unwrap();
        assert_eq!(
            m.readings,
            "plain `012` is the string \"012\" to cutover's YAML reader, the integer 12 in YAML 1.2 and the integer 10 in YAML 1.1, as kubectl reads it"
        );
        assert_eq!(
            m.advice(),
            "write `12` for a number or `\"012\"` for a string"
        );
    }

    #[test]
    fn readings_in_words_and_json() {
        assert_eq!(Reading::Int(10).describe("012"), "the integer 10");
        assert_eq!(Reading::Str.describe("yes"), "the string \"yes\"");
        assert_eq!(Reading::Int(12).to_json("012"), serde_json::json!(12));
        assert_eq!(Reading::Str.to_json("yes"), serde_json::json!("yes"));
        assert_eq!(
            Reading::Float(f64::INFINITY).to_json("x"),
            serde_json::json!(".inf")
        );
        assert!(Reading::Int(8).same(&Reading::Float(8.0)));
        assert!(!Reading::Int(8).same(&Reading::Str));
    }
}
