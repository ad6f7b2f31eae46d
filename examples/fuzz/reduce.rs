//! Shrinking a finding's input: delta debugging over lines, then bytes, of each file,
//! keeping every removal after which the same finding (same key) still shows.

use crate::case::Case;

/// The smallest case reachable from `case` by removing chunks while `still(case)` holds,
/// trying at most `budget` candidates.
pub fn reduce(case: &Case, budget: usize, mut still: impl FnMut(&Case) -> bool) -> Case {
    let mut best = case.clone();
    let mut tries = 0usize;
    // Whole lines of every file first: the cheap, large steps.
    for by_lines in [true, false] {
        for file in 0..best.files.len() {
            let units = split(&best.files[file].1, by_lines);
            let kept = ddmin(units, &mut tries, budget, |candidate| {
                let mut c = best.clone();
                c.files[file].1 = candidate.concat();
                still(&c)
            });
            best.files[file].1 = kept.concat();
        }
    }
    best
}

fn split(bytes: &[u8], by_lines: bool) -> Vec<Vec<u8>> {
    if by_lines {
        // Lines end at LF, CRLF or a lone CR.
        let mut out = Vec::new();
        let mut start = 0;
        for i in 0..bytes.len() {
            let end = bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if end {
                out.push(bytes[start..=i].to_vec());
                start = i + 1;
            }
        }
        if start < bytes.len() {
            out.push(bytes[start..].to_vec());
        }
        out
    } else {
        bytes.iter().map(|&b| vec![b]).collect()
    }
}

/// Removes chunks of `units`, halving the chunk size down to one, while `keep` holds.
fn ddmin(
    mut units: Vec<Vec<u8>>,
    tries: &mut usize,
    budget: usize,
    mut keep: impl FnMut(&[Vec<u8>]) -> bool,
) -> Vec<Vec<u8>> {
    let mut chunk = units.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        while i < units.len() {
            if *tries >= budget {
                return units;
            }
            *tries += 1;
            let end = (i + chunk).min(units.len());
            let candidate: Vec<Vec<u8>> = units[..i].iter().chain(&units[end..]).cloned().collect();
            if keep(&candidate) {
                units = candidate;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 {
            return units;
        }
        chunk = chunk.div_ceil(2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_what_the_finding_needs() {
        assert_eq!(
            split(b"a\rb\r\nc\nd", true),
            [&b"a\r"[..], b"b\r\n", b"c\n", b"d"]
        );
        let case = Case::plan(b"a: 1\nb: 2\nneedle: x\nc: 3\n".to_vec());
        let small = reduce(&case, 1000, |c| {
            String::from_utf8_lossy(c.plan_bytes()).contains("needle")
        });
        assert_eq!(small.plan_bytes(), b"needle");
    }
}
