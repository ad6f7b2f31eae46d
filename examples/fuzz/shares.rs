//! The exact weights of a rewritten base route, computed independently of
//! `render::rewrite` (README, "Migrating an existing VirtualService"), in u128 so that no
//! 64-bit weight can overflow.
//!
//! A route's destinations carry weights as Istio reads them (a lone destination: 100; no
//! weight: 0). At weight stage `w`, every `from` destination's share is split: `w`% of it
//! to `to` (one `to` destination before the first `from` one, or an existing `to`
//! destination), the rest stays; other destinations keep theirs. Shares are then rounded
//! by the largest-remainder rule: each rounded down, the points left one each to the
//! largest remainders, earlier destinations first on ties.

/// Istio's weights are 32-bit signed integers.
pub const ISTIO_MAX_WEIGHT: u64 = i32::MAX as u64;

/// The destinations of a route after weight stage `w`, as (host, weight), from the base
/// route's destinations as (host, weight as Istio reads it). `None` when the weights add
/// up to 0 or no destination is `from` (the rewrite must refuse those).
pub fn expected(
    dests: &[(Option<String>, u64)],
    from: &str,
    to: &str,
    w: u8,
) -> Option<Vec<(Option<String>, u64)>> {
    let total: u128 = dests.iter().map(|(_, wt)| u128::from(*wt)).sum();
    if total == 0 {
        return None;
    }
    let w = u128::from(w);
    // Numerators over `total`: every share in percent is numer / total.
    let mut entries: Vec<(Option<String>, u128)> = Vec::new();
    let mut to_numer = 0u128;
    let mut to_slot = None;
    for (host, wt) in dests {
        let wt = u128::from(*wt);
        if host.as_deref() == Some(from) {
            to_numer += wt * w;
            if to_slot.is_none() {
                to_slot = Some(entries.len());
                entries.push((Some(to.to_owned()), 0));
            }
            entries.push((host.clone(), wt * (100 - w)));
        } else {
            entries.push((host.clone(), wt * 100));
        }
    }
    let slot = to_slot?;
    let existing = entries
        .iter()
        .enumerate()
        .position(|(i, (h, _))| i != slot && h.as_deref() == Some(to));
    match existing {
        Some(j) => {
            entries[j].1 += to_numer;
            entries.remove(slot);
        }
        None => entries[slot].1 = to_numer,
    }
    let mut out: Vec<(Option<String>, u128)> = entries
        .iter()
        .map(|(h, n)| (h.clone(), n / total))
        .collect();
    let given: u128 = out.iter().map(|(_, n)| n).sum();
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(entries[i].1 % total));
    for &i in order.iter().take(100usize.saturating_sub(given as usize)) {
        out[i].1 += 1;
    }
    Some(
        out.into_iter()
            .map(|(h, n)| (h, u64::try_from(n).unwrap_or(u64::MAX)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(list: &[(&str, u64)]) -> Vec<(Option<String>, u64)> {
        list.iter()
            .map(|(h, w)| (Some((*h).to_owned()), *w))
            .collect()
    }

    #[test]
    fn readme_example_and_rounding() {
        // 80/20 between `from` and another host, w = 25: 20 / 60 / 20.
        assert_eq!(
            expected(&d(&[("f", 80), ("o", 20)]), "f", "t", 25),
            Some(d(&[("t", 20), ("f", 60), ("o", 20)]))
        );
        // Thirds: the first remainder wins the tie.
        assert_eq!(
            expected(&d(&[("f", 1), ("a", 1), ("b", 1)]), "f", "t", 0),
            Some(d(&[("t", 0), ("f", 34), ("a", 33), ("b", 33)]))
        );
        // An existing `to` takes the share.
        assert_eq!(
            expected(&d(&[("t", 50), ("f", 50)]), "f", "t", 50),
            Some(d(&[("t", 75), ("f", 25)]))
        );
        assert_eq!(expected(&d(&[("f", 0), ("o", 0)]), "f", "t", 5), None);
    }

    #[test]
    fn huge_weights_are_exact() {
        // The overflowing inputs of the issue: exact shares 0/0/100 and 100/0/0.
        let big = 4_611_686_018_427_387_905;
        assert_eq!(
            expected(&d(&[("a", 7), ("c", big)]), "a", "b", 10),
            Some(d(&[("b", 0), ("a", 0), ("c", 100)]))
        );
        assert_eq!(
            expected(&d(&[("a", big - 1), ("c", 0)]), "a", "b", 10),
            Some(d(&[("b", 10), ("a", 90), ("c", 0)]))
        );
    }
}
