//! Rollout stages: what each one sends to the `from` and `to` hosts.

use std::fmt;

/// What a stage does with traffic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StageKind {
    /// All traffic to `from`; this percentage (0 < p <= 100) is also mirrored to `to`.
    Mirror(f64),
    /// This percentage (0..=100) goes to `to`, the rest to `from`.
    Weight(u8),
}

/// One step of a rollout.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// The stage's name (explicit, or derived from its kind).
    pub name: String,
    /// What the stage does.
    pub kind: StageKind,
    /// Minimum time, in seconds, an environment stays at this stage before `promote`
    /// moves it on.
    pub hold: Option<u64>,
    /// A note for reviewers.
    pub note: Option<String>,
    /// Header canary: requests with this header (name, exact value) all go to `to`,
    /// ahead of the weighted route.
    pub header: Option<(String, String)>,
}

impl Stage {
    /// A stage with the default name for its kind (`weight-10`, `mirror-10`, `mirror-12-5`).
    pub fn unnamed(kind: StageKind) -> Stage {
        Stage {
            name: default_name(kind),
            kind,
            hold: None,
            note: None,
            header: None,
        }
    }

    /// Percentage of requests served by the `to` host.
    pub fn to_weight(&self) -> u8 {
        match self.kind {
            StageKind::Mirror(_) => 0,
            StageKind::Weight(w) => w,
        }
    }

    /// Percentage of requests served by the `from` host (always `100 - to_weight`).
    pub fn from_weight(&self) -> u8 {
        100 - self.to_weight()
    }

    /// Percentage of requests mirrored to `to`, if this is a mirror stage.
    pub fn mirror(&self) -> Option<f64> {
        match self.kind {
            StageKind::Mirror(p) => Some(p),
            StageKind::Weight(_) => None,
        }
    }
}

/// The default name of a stage of this kind.
pub fn default_name(kind: StageKind) -> String {
    match kind {
        StageKind::Weight(w) => format!("weight-{w}"),
        StageKind::Mirror(p) => format!("mirror-{}", Percent(p)).replace('.', "-"),
    }
}

/// Parses a duration such as `90s`, `30m`, `24h`, `2d` or `1h30m` into seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut any = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
        any = true;
    }
    (any && digits.is_empty()).then_some(total)
}

/// Formats seconds as a short duration: `2d 3h`, `45m`, `30s`.
pub fn format_duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let units = [(d, "d"), (h, "h"), (m, "m"), (s, "s")];
    // The largest unit, and the next one down when it is not zero: `3d 4h`, `3d`, `45m 10s`.
    let first = units.iter().position(|(n, _)| *n > 0);
    let parts: Vec<String> = first
        .map(|k| units[k..].iter().take(2).filter(|(n, _)| *n > 0))
        .into_iter()
        .flatten()
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Formats a percentage the way it is written in manifests: `10`, `12.5`, `0.01`.
#[derive(Clone, Copy, Debug)]
pub struct Percent(pub f64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rust prints the shortest representation that round-trips, never in exponent form.
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names() {
        assert_eq!(Stage::unnamed(StageKind::Weight(10)).name, "weight-10");
        assert_eq!(Stage::unnamed(StageKind::Mirror(100.0)).name, "mirror-100");
        assert_eq!(Stage::unnamed(StageKind::Mirror(12.5)).name, "mirror-12-5");
    }

    #[test]
    fn weights_sum_to_100() {
        for w in 0..=100u8 {
            let s = Stage::unnamed(StageKind::Weight(w));
            assert_eq!(s.to_weight() as u16 + s.from_weight() as u16, 100);
        }
        let m = Stage::unnamed(StageKind::Mirror(5.0));
        assert_eq!(
            (m.to_weight(), m.from_weight(), m.mirror()),
            (0, 100, Some(5.0))
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(86_400));
        assert_eq!(parse_duration("1h30m"), Some(5_400));
        assert_eq!(parse_duration("2d"), Some(172_800));
        assert_eq!(parse_duration("90s"), Some(90));
        for bad in ["", "24", "h", "1x", "1h30", "-1h", "99999999999999999999d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(format_duration(93_784), "1d 2h");
        assert_eq!(format_duration(45 * 60), "45m");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(3 * 86_400 + 1), "3d");
        assert_eq!(format_duration(3600 + 5), "1h");
    }

    #[test]
    fn percent_formatting() {
        assert_eq!(Percent(10.0).to_string(), "10");
        assert_eq!(Percent(12.5).to_string(), "12.5");
        assert_eq!(Percent(0.001).to_string(), "0.001");
    }
}
