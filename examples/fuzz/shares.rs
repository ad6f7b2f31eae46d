//! The exact weights of a rewritten base route, computed independently of
//! `render::rewrite` (README, "Migrating an existing VirtualService"), in u128 so that no
//! 64-bit weight can overflow.
//!
//! A route's destinations carry weights as Istio reads them (a lone destination: 100; no
//! weight: 0) and hosts as Istio reads them ([`fqdn`]: `reviews` is
//! `reviews.<namespace>.svc.cluster.local`). At weight stage `w`, every `from`
//! destination's share is split: `w`% of it to `to`, the rest stays; other destinations
//! keep theirs. The `from` destinations are grouped by `headers` (first appearance
//! first); each group's moved share goes to an existing `to` destination with the same
//! headers and no `subset` or `port`, else to a new `to` destination before the group's first `from` destination.
//! Shares are then rounded by the largest-remainder rule: each rounded down, the points
//! left one each to the largest remainders, earlier destinations first on ties.

/// Istio's weights are 32-bit signed integers.
pub const ISTIO_MAX_WEIGHT: u64 = i32::MAX as u64;

/// `host` as Istio reads it in namespace `ns` (istiod's `ResolveShortnameToFQDN`): a
/// host without a dot is a service of the namespace; `*`, IP addresses and hosts with a
/// dot are taken as written.
pub fn fqdn(host: &str, ns: &str) -> String {
    if host.is_empty()
        || host == "*"
        || host.contains('.')
        || host.parse::<std::net::IpAddr>().is_ok()
    {
        return host.to_owned();
    }
    if ns.is_empty() {
        format!("{host}.svc.cluster.local")
    } else {
        format!("{host}.{ns}.svc.cluster.local")
    }
}

/// One destination of a base route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dest {
    /// Its host as written.
    pub host: Option<String>,
    /// Its host as Istio reads it ([`fqdn`]).
    pub name: Option<String>,
    /// Its `headers` as YAML text (`None`: no headers).
    pub headers: Option<String>,
    /// Its weight as Istio reads it.
    pub weight: u64,
    /// Whether its `destination` is only a `host` (no `subset`, no `port`): only such a
    /// `to` destination takes a moved share.
    pub plain: bool,
}

/// The destinations of a route after weight stage `w`, as (host, weight), from the base
/// route's destinations; `from` and `to` as Istio reads them, `to_host` as the plan
/// writes it. `None` when the weights add up to 0 or no destination is `from` (the
/// rewrite must refuse those).
pub fn expected(
    dests: &[Dest],
    from: &str,
    to: &str,
    to_host: &str,
    w: u8,
) -> Option<Vec<(Option<String>, u64)>> {
    let total: u128 = dests.iter().map(|d| u128::from(d.weight)).sum();
    if total == 0 {
        return None;
    }
    let w = u128::from(w);
    let is_from = |d: &Dest| d.name.as_deref() == Some(from);
    let is_to = |d: &Dest| !is_from(d) && d.name.as_deref() == Some(to);
    // (headers, moved share as a numerator over `total`)
    let mut sets: Vec<(Option<&String>, u128)> = Vec::new();
    for d in dests.iter().filter(|d| is_from(d)) {
        let moved = u128::from(d.weight) * w;
        match sets.iter_mut().find(|(h, _)| *h == d.headers.as_ref()) {
            Some(set) => set.1 += moved,
            None => sets.push((d.headers.as_ref(), moved)),
        }
    }
    if sets.is_empty() {
        return None;
    }
    let takes: Vec<Option<usize>> = sets
        .iter()
        .map(|(h, _)| {
            dests
                .iter()
                .position(|d| is_to(d) && d.plain && d.headers.as_ref() == *h)
        })
        .collect();
    let mut placed = vec![false; sets.len()];
    let mut entries: Vec<(Option<String>, u128)> = Vec::new();
    for (j, d) in dests.iter().enumerate() {
        let wt = u128::from(d.weight);
        if !is_from(d) {
            let moved: u128 = (0..sets.len())
                .filter(|&s| takes[s] == Some(j))
                .map(|s| sets[s].1)
                .sum();
            entries.push((d.host.clone(), wt * 100 + moved));
            continue;
        }
        let s = sets.iter().position(|(h, _)| *h == d.headers.as_ref())?;
        if takes[s].is_none() && !placed[s] {
            placed[s] = true;
            entries.push((Some(to_host.to_owned()), sets[s].1));
        }
        entries.push((d.host.clone(), wt * (100 - w)));
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

    /// Destinations without headers, in namespace `ns`.
    fn dests(list: &[(&str, u64)]) -> Vec<Dest> {
        list.iter()
            .map(|(h, w)| Dest {
                host: Some((*h).to_owned()),
                name: Some(fqdn(h, "ns")),
                headers: None,
                weight: *w,
                plain: true,
            })
            .collect()
    }

    fn expected(
        list: &[(&str, u64)],
        from: &str,
        to: &str,
        w: u8,
    ) -> Option<Vec<(Option<String>, u64)>> {
        super::expected(&dests(list), &fqdn(from, "ns"), &fqdn(to, "ns"), to, w)
    }

    #[test]
    fn readme_example_and_rounding() {
        // 80/20 between `from` and another host, w = 25: 20 / 60 / 20.
        assert_eq!(
            expected(&[("f", 80), ("o", 20)], "f", "t", 25),
            Some(d(&[("t", 20), ("f", 60), ("o", 20)]))
        );
        // Thirds: the first remainder wins the tie.
        assert_eq!(
            expected(&[("f", 1), ("a", 1), ("b", 1)], "f", "t", 0),
            Some(d(&[("t", 0), ("f", 34), ("a", 33), ("b", 33)]))
        );
        // An existing `to` takes the share.
        assert_eq!(
            expected(&[("t", 50), ("f", 50)], "f", "t", 50),
            Some(d(&[("t", 75), ("f", 25)]))
        );
        assert_eq!(expected(&[("f", 0), ("o", 0)], "f", "t", 5), None);
    }

    #[test]
    fn header_sets_and_short_hosts() {
        let mut ds = dests(&[("f.ns.svc.cluster.local", 40), ("f", 40), ("f.ns", 20)]);
        ds[1].headers = Some("{x: b}".to_owned());
        // `f` is `from` (short), `f.ns` is not; two header sets, two `to` destinations.
        assert_eq!(
            super::expected(&ds, "f.ns.svc.cluster.local", "t.com", "t.com", 50),
            Some(d(&[
                ("t.com", 20),
                ("f.ns.svc.cluster.local", 20),
                ("t.com", 20),
                ("f", 20),
                ("f.ns", 20)
            ]))
        );
    }

    #[test]
    fn huge_weights_are_exact() {
        // The overflowing inputs of the issue: exact shares 0/0/100 and 100/0/0.
        let big = 4_611_686_018_427_387_905;
        assert_eq!(
            expected(&[("a", 7), ("c", big)], "a", "b", 10),
            Some(d(&[("b", 0), ("a", 0), ("c", 100)]))
        );
        assert_eq!(
            expected(&[("a", big - 1), ("c", 0)], "a", "b", 10),
            Some(d(&[("b", 10), ("a", 90), ("c", 0)]))
        );
    }
}
