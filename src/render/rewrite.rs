//! Migrating an existing VirtualService route by route.
//!
//! With `base:`, each stage is the base VirtualService with every route destination
//! whose host is `from` rewritten; everything else (matches, retries, timeouts, other
//! destinations, key order) stays as it was.
//!
//! A base is checked first ([`check_base`]): Istio's 32-bit weights only, and no YAML
//! tags.
//!
//! Hosts are compared as Istio reads them ([`HostResolver`]): a destination `reviews` of a
//! VirtualService in namespace `shop` is `reviews.shop.svc.cluster.local`, so it is `from`
//! when `from` is that name (and the other way round); `reviews.shop` is taken as written.
//!
//! Weight stage `w`: in every HTTP, TCP and TLS route that sends traffic to `from`, each
//! `from` destination's share is split: `w`% of it moves to `to`, the rest stays on
//! `from` (keeping its `port`, `subset` and `headers`). The `from` destinations are
//! grouped by their `headers` (identical values, key order included; no headers is a
//! group too), and each group's moved share goes to a `to` destination with the same
//! `headers` (but no `port` or `subset`): an existing `to` destination of the route with
//! those headers and no `port` or `subset`, else a new one placed before the group's
//! first `from` destination. So
//! the requests of every group keep their header rules on `to`. Other destinations keep
//! their share. Shares are then rounded to integers summing to 100 by the
//! largest-remainder rule: every share is rounded down, and the points left are given one
//! each to the largest remainders, earlier destinations first on ties. All arithmetic is
//! on integers, so the result is the same everywhere.
//!
//! Mirror stage `p`: every HTTP route that sends traffic to `from` also mirrors `p`% to
//! `to` (`mirror` + `mirrorPercentage`). A route that already mirrors gets an entry in
//! `mirrors` when the plan's `istioVersion` is 1.19 or later (the existing mirror moves
//! into `mirrors` too), and is an error before that. TCP and TLS routes cannot mirror
//! and are left alone in mirror stages. `delegate`, `redirect` and `directResponse`
//! routes have no destinations and are never touched.

use std::num::NonZeroU128;

use serde_yaml::{Mapping, Number, Value};

use crate::plan::stage::{Stage, StageKind};
use crate::vs::{
    find_tag, identical, Destination, HostResolver, Route, VirtualService, MAX_WEIGHT, ROUTE_KINDS,
};

fn key(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn percent(p: f64) -> Value {
    if p.fract() == 0.0 {
        Value::Number(Number::from(p as i64))
    } else {
        Value::Number(Number::from(p))
    }
}

/// Checks a base VirtualService before any stage is rewritten from it: it has no YAML
/// tags (a VirtualService has no meaning for them, and YAML 1.1 and 1.2 readers of the
/// output would not agree on one), and every destination's weight, in every route, is one
/// Istio accepts ([`Destination::istio_weight`]: an integer from 0 to [`MAX_WEIGHT`]).
/// The error names the place, such as `spec.http[0].route[1].weight`.
pub fn check_base(base: &VirtualService) -> Result<(), String> {
    if let Some((at, tag)) = find_tag(base) {
        return Err(format!(
            "{at} has the YAML tag `{tag}`: a VirtualService has no meaning for tags; remove it"
        ));
    }
    for kind in ROUTE_KINDS {
        for route in base.routes(kind) {
            for (j, d) in route.destinations().into_iter().flatten().enumerate() {
                d.istio_weight()
                    .map_err(|e| format!("spec.{kind}[{}].route[{j}].{e}", route.index))?;
            }
        }
    }
    Ok(())
}

/// The base VirtualService rewritten for `stage`. Its short hosts are read in its own
/// namespace, or else in `namespace` (the migration's; see [`HostResolver::of`]).
pub fn stage(
    base: &VirtualService,
    from: &str,
    to: &str,
    namespace: &str,
    stage: &Stage,
    istio: (u32, u32),
) -> Result<VirtualService, String> {
    if base.spec().is_none() {
        return Err("has no `spec` mapping".to_owned());
    }
    let names = HostResolver::of(base, namespace);
    if names.same(from, to) {
        return Err(format!(
            "`from` ({from}) and `to` ({to}) are one host as Istio reads the base's hosts, in namespace {}: nothing would move",
            names.namespace()
        ));
    }
    let moves = Moves {
        from,
        to,
        names: &names,
    };
    let mut doc = base.clone();
    let mut touched = 0usize;
    let mut mirrored = 0usize;
    for kind in ROUTE_KINDS {
        let Some(routes) = doc.routes_mut(kind) else {
            continue;
        };
        for (i, route) in routes.iter_mut().enumerate() {
            if !route.is_mapping() || !Route::new(i, route).sends_to(from, &names) {
                continue;
            }
            touched += 1;
            let at = |e: String| format!("spec.{kind}[{i}]: {e}");
            match stage.kind {
                StageKind::Weight(w) => {
                    let weights = Route::new(i, route).weights().map_err(at)?;
                    // Always there: the route sends to `from`.
                    if let Some(dests) = route.get_mut("route").and_then(Value::as_sequence_mut) {
                        *dests = split(dests, &weights, &moves, w).map_err(at)?;
                    }
                }
                StageKind::Mirror(p) if kind == "http" => {
                    if let Some(r) = route.as_mapping_mut() {
                        add_mirror(r, to, p, istio).map_err(at)?;
                        mirrored += 1;
                    }
                }
                StageKind::Mirror(_) => {}
            }
        }
    }
    if touched == 0 {
        // A destination Kubernetes DNS would complete to `from` is the likely mistake.
        let hint = ROUTE_KINDS
            .iter()
            .flat_map(|kind| base.routes(kind))
            .flat_map(|r| r.destinations().into_iter().flatten())
            .find_map(|d| {
                let host = d.host()?;
                let fqdn = names.unexpanded(host, from)?;
                Some(format!(" (Istio does not expand `{host}`, a host with a dot: write `{fqdn}` to move its traffic)"))
            })
            .unwrap_or_default();
        return Err(format!("no route sends traffic to `{from}`{hint}"));
    }
    if matches!(stage.kind, StageKind::Mirror(_)) && mirrored == 0 {
        // The stage file would be the base itself: a rollout step that does nothing.
        return Err(format!(
            "a mirror stage, but no HTTP route sends traffic to `{from}` (only TCP or TLS routes do, and Istio mirrors HTTP only): the stage would change nothing; leave it out"
        ));
    }
    Ok(doc)
}

/// The hosts a stage moves traffic between, and how the base's hosts read.
struct Moves<'a> {
    from: &'a str,
    to: &'a str,
    names: &'a HostResolver,
}

/// Whether two destinations' `headers` ([`Destination::headers`]) are the same set.
fn same_headers(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => identical(a, b),
        _ => false,
    }
}

/// Splits every `from` destination of one route; see the module documentation.
/// `weights` are the destinations' weights as Istio reads them ([`Route::weights`]).
///
/// The arithmetic is on `u128`, where it cannot wrap: a weight is at most
/// [`MAX_WEIGHT`] (below 2^31) and a numerator at most a weight times 100 * 100 (below
/// 2^45), so a sum of fewer than 2^64 of them (more destinations than memory can hold)
/// stays below 2^109.
fn split(dests: &[Value], weights: &[u64], moves: &Moves<'_>, w: u8) -> Result<Vec<Value>, String> {
    // Both hold for weights read by `Route::weights` and a plan's stages.
    if weights.iter().any(|&wt| wt > MAX_WEIGHT) {
        return Err(format!("a weight is above {MAX_WEIGHT}"));
    }
    if w > 100 {
        return Err(format!("the stage's weight {w} is above 100"));
    }
    let w = u128::from(w);
    let total: u128 = weights.iter().map(|&wt| u128::from(wt)).sum();
    // Shares as numerators over total * 100 (so that they add up to 100 percent).
    let Some(denom) = NonZeroU128::new(total * 100) else {
        return Err("its destinations' weights add up to 0".to_owned());
    };
    let is_from = |d: &Value| Destination::new(d).is(moves.from, moves.names);
    // The header sets of the `from` destinations, in order of first appearance, each
    // with the share that moves to `to`, and each `from` destination's set.
    let mut sets: Vec<(Option<&Value>, u128)> = Vec::new();
    let mut set_of: Vec<Option<usize>> = Vec::with_capacity(dests.len());
    for (d, &wt) in dests.iter().zip(weights) {
        if !is_from(d) {
            set_of.push(None);
            continue;
        }
        let headers = Destination::new(d).headers();
        let s = match sets.iter().position(|(h, _)| same_headers(*h, headers)) {
            Some(s) => s,
            None => {
                sets.push((headers, 0));
                sets.len() - 1
            }
        };
        sets[s].1 += u128::from(wt) * w * 100;
        set_of.push(Some(s));
    }
    if sets.is_empty() {
        return Err(format!("no destination is `{}`", moves.from));
    }
    // The existing `to` destination that takes each set's share, if any.
    let takes: Vec<Option<usize>> = sets
        .iter()
        .map(|(h, _)| {
            dests.iter().position(|d| {
                !is_from(d)
                    && Destination::new(d).is(moves.to, moves.names)
                    && plain(d)
                    && same_headers(Destination::new(d).headers(), *h)
            })
        })
        .collect();
    let mut entries: Vec<(Value, u128)> = Vec::with_capacity(dests.len() + sets.len());
    let mut placed = vec![false; sets.len()];
    for (j, ((d, &wt), set)) in dests.iter().zip(weights).zip(&set_of).enumerate() {
        let wt = u128::from(wt);
        match *set {
            Some(s) => {
                if takes[s].is_none() && !placed[s] {
                    placed[s] = true;
                    entries.push((new_to(moves.to, sets[s].0), sets[s].1));
                }
                entries.push((d.clone(), wt * (100 - w) * 100));
            }
            None => {
                let moved: u128 = (0..sets.len())
                    .filter(|&s| takes[s] == Some(j))
                    .map(|s| sets[s].1)
                    .sum();
                entries.push((d.clone(), wt * 100 * 100 + moved));
            }
        }
    }
    let numers: Vec<u128> = entries.iter().map(|(_, n)| *n).collect();
    let rounded = largest_remainder(&numers, denom);
    Ok(entries
        .into_iter()
        .zip(rounded)
        .map(|((mut d, _), weight)| {
            if let Some(m) = d.as_mapping_mut() {
                m.insert(key("weight"), Value::Number(Number::from(weight)));
            }
            d
        })
        .collect())
}

/// A new `to` destination with `headers` (its weight is set later).
fn new_to(to: &str, headers: Option<&Value>) -> Value {
    let mut m = Mapping::new();
    let mut dest = Mapping::new();
    dest.insert(key("host"), key(to));
    m.insert(key("destination"), Value::Mapping(dest));
    if let Some(h) = headers {
        m.insert(key("headers"), h.clone());
    }
    Value::Mapping(m)
}

/// Whether a destination names only a `host` (no `subset`, no `port`): an existing `to`
/// destination takes a moved share only then, so that moved traffic never lands on a
/// subset or port the plan did not choose.
fn plain(d: &Value) -> bool {
    d.get("destination")
        .and_then(Value::as_mapping)
        .is_some_and(|m| m.len() == 1)
}

/// Rounds `numers / denom` (which add up to exactly 100) to integers adding up to 100.
/// (Given numerators that add up to more, the result adds up to more, and saturates at
/// `u64::MAX`; it never wraps.)
pub fn largest_remainder(numers: &[u128], denom: NonZeroU128) -> Vec<u64> {
    let mut out: Vec<u64> = numers
        .iter()
        .map(|n| u64::try_from(*n / denom).unwrap_or(u64::MAX))
        .collect();
    let given = out.iter().fold(0u64, |sum, &n| sum.saturating_add(n));
    let left = usize::try_from(100u64.saturating_sub(given)).unwrap_or(0);
    let mut order: Vec<usize> = (0..numers.len()).collect();
    // Largest remainder first; ties keep document order (the sort is stable).
    order.sort_by(|&a, &b| (numers[b] % denom).cmp(&(numers[a] % denom)));
    for &i in order.iter().take(left) {
        out[i] = out[i].saturating_add(1);
    }
    out
}

fn add_mirror(r: &mut Mapping, to: &str, p: f64, istio: (u32, u32)) -> Result<(), String> {
    let mut target = Mapping::new();
    target.insert(key("host"), key(to));
    let already = r.contains_key(key("mirror")) || r.contains_key(key("mirrors"));
    if !already {
        r.insert(key("mirror"), Value::Mapping(target));
        let mut pct = Mapping::new();
        pct.insert(key("value"), percent(p));
        r.insert(key("mirrorPercentage"), Value::Mapping(pct));
        return Ok(());
    }
    if istio < (1, 19) {
        return Err(format!(
            "the route already mirrors traffic; a second mirror needs `mirrors` (Istio 1.19 and later), but the plan's istioVersion is {}.{}",
            istio.0, istio.1
        ));
    }
    let entry = |dest: Value, pct: Option<Value>| {
        let mut e = Mapping::new();
        e.insert(key("destination"), dest);
        if let Some(p) = pct {
            let mut m = Mapping::new();
            m.insert(key("value"), p);
            e.insert(key("percentage"), Value::Mapping(m));
        }
        Value::Mapping(e)
    };
    let mut mirrors: Vec<Value> = match r.shift_remove(key("mirrors")) {
        Some(Value::Sequence(s)) => s,
        Some(_) => return Err("`mirrors` is not a list".to_owned()),
        None => Vec::new(),
    };
    if let Some(old) = r.shift_remove(key("mirror")) {
        let pct = r
            .shift_remove(key("mirrorPercentage"))
            .and_then(|p| p.get("value").cloned())
            .or_else(|| r.shift_remove(key("mirrorPercent")))
            .or_else(|| r.shift_remove(key("mirror_percent")));
        mirrors.insert(0, entry(old, pct));
    }
    mirrors.push(entry(Value::Mapping(target), Some(percent(p))));
    r.insert(key("mirrors"), Value::Sequence(mirrors));
    Ok(())
}

/// Checks a rewritten stage against its base: weights are integers summing to 100 in
/// every rewritten route, every header set of a rewritten route's `from` destinations
/// is carried by one of its `to` destinations (so no header rule is lost for the traffic
/// that moves), and everything outside route destinations and mirrors is exactly as in
/// the base, key order included. Hosts are read as in [`stage`].
pub fn check(
    base: &VirtualService,
    out: &VirtualService,
    from: &str,
    to: &str,
    namespace: &str,
) -> Result<(), String> {
    if !identical(&base.without_traffic(), &out.without_traffic()) {
        return Err("fields outside route destinations and mirrors changed".to_owned());
    }
    let names = HostResolver::of(base, namespace);
    // The same routes at the same places: only their traffic fields may differ.
    for kind in ROUTE_KINDS {
        for (br, or) in base.routes(kind).zip(out.routes(kind)) {
            let i = br.index;
            if br.destinations().is_none() {
                continue;
            }
            if !br.sends_to(from, &names) {
                if !identical(br.as_value(), or.as_value()) {
                    return Err(format!(
                        "spec.{kind}[{i}] does not send to `from` but changed"
                    ));
                }
                continue;
            }
            let new = or
                .destinations()
                .ok_or(format!("spec.{kind}[{i}] lost its destinations"))?;
            // Mirror stages leave the destinations as they were (Istio accepts weights
            // that do not add up to 100); only rewritten destinations must.
            if new.len() == 1 || br.as_value().get("route") == or.as_value().get("route") {
                continue;
            }
            let mut sum = 0u64;
            for d in new.clone() {
                let w = d.weight_value().and_then(Value::as_u64).ok_or(format!(
                    "spec.{kind}[{i}]: a destination has no integer weight"
                ))?;
                sum = sum.saturating_add(w);
            }
            if sum != 100 {
                return Err(format!("spec.{kind}[{i}]: weights sum to {sum}, not 100"));
            }
            let carried = |h: Option<&Value>| {
                new.clone().any(|o| {
                    o.is(to, &names) && !o.is(from, &names) && same_headers(o.headers(), h)
                })
            };
            let from_dests = br.destinations().into_iter().flatten().enumerate();
            if let Some((j, _)) = from_dests
                .filter(|(_, d)| d.is(from, &names))
                .find(|(_, d)| !carried(d.headers()))
            {
                return Err(format!(
                    "spec.{kind}[{i}]: no `to` destination has the headers of the base's `from` destination route[{j}]"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(dest: &Value) -> Option<&str> {
        Destination::new(dest).host()
    }

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    fn base() -> VirtualService {
        VirtualService::parse(BASE).unwrap()
    }

    fn weights(doc: &Value, kind: &str, i: usize) -> Vec<(String, u64)> {
        doc["spec"][kind][i]["route"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    host_of(d).unwrap().to_owned(),
                    d["weight"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    const BASE: &str = "
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews.example.com]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    timeout: 5s
    retries: {attempts: 3, perTryTimeout: 2s}
    route:
    - destination: {host: se.example.com, subset: v1, port: {number: 443}}
      headers: {request: {set: {x-a: b}}}
      weight: 80
    - destination: {host: other.example.com}
      weight: 20
  - redirect: {uri: /new}
  - route:
    - destination: {host: se.example.com}
  tcp:
  - route:
    - destination: {host: se.example.com, port: {number: 5432}}
";

    fn weight_stage(w: u8) -> Stage {
        Stage::unnamed(StageKind::Weight(w))
    }

    #[test]
    fn splits_the_from_share_and_keeps_the_rest() {
        let base = base();
        let out = stage(
            &base,
            "se.example.com",
            "gcp.example.com",
            "shop",
            &weight_stage(10),
            (1, 22),
        )
        .unwrap();
        assert_eq!(
            weights(&out, "http", 0),
            [
                ("gcp.example.com".into(), 8),
                ("se.example.com".into(), 72),
                ("other.example.com".into(), 20)
            ]
        );
        // The `to` destination carries headers but not port or subset.
        let to = &out["spec"]["http"][0]["route"][0];
        assert_eq!(to["destination"], yaml("{host: gcp.example.com}"));
        assert_eq!(to["headers"], yaml("{request: {set: {x-a: b}}}"));
        assert_eq!(
            out["spec"]["http"][0]["route"][1]["destination"]["subset"],
            yaml("v1")
        );
        assert_eq!(
            weights(&out, "http", 2),
            [
                ("gcp.example.com".into(), 10),
                ("se.example.com".into(), 90)
            ]
        );
        assert_eq!(
            weights(&out, "tcp", 0),
            [
                ("gcp.example.com".into(), 10),
                ("se.example.com".into(), 90)
            ]
        );
        // The redirect route and everything else is untouched.
        assert_eq!(out["spec"]["http"][1], base["spec"]["http"][1]);
        check(&base, &out, "se.example.com", "gcp.example.com", "shop").unwrap();
        // Key order follows the base.
        let keys: Vec<_> = out["spec"]["http"][0]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(keys, ["name", "match", "timeout", "retries", "route"]);
    }

    #[test]
    fn rounding_is_integer_and_sums_to_100() {
        // 80/20 split, 25% of the 80 moves: 20 / 60 / 20.
        let base = base();
        for w in 0..=100u8 {
            let out = stage(
                &base,
                "se.example.com",
                "gcp.example.com",
                "shop",
                &weight_stage(w),
                (1, 22),
            )
            .unwrap();
            let sum: u64 = weights(&out, "http", 0).iter().map(|(_, w)| w).sum();
            assert_eq!(sum, 100, "w = {w}");
            check(&base, &out, "se.example.com", "gcp.example.com", "shop").unwrap();
        }
        let three = NonZeroU128::new(3).unwrap();
        assert_eq!(largest_remainder(&[100, 100, 100], three), [34, 33, 33]);
    }

    #[test]
    fn mirrors_once_or_through_mirrors() {
        let base = base();
        let m = Stage::unnamed(StageKind::Mirror(12.5));
        let out = stage(
            &base,
            "se.example.com",
            "gcp.example.com",
            "shop",
            &m,
            (1, 22),
        )
        .unwrap();
        assert_eq!(
            out["spec"]["http"][0]["mirror"],
            yaml("{host: gcp.example.com}")
        );
        assert_eq!(
            out["spec"]["http"][0]["mirrorPercentage"],
            yaml("{value: 12.5}")
        );
        assert_eq!(weights(&out, "http", 0), weights(&base, "http", 0));
        // Already mirrored: `mirrors` from 1.19, an error before.
        let mirrored = VirtualService::from(yaml(&BASE.replace("    timeout: 5s\n", "    timeout: 5s\n    mirror: {host: shadow.example.com}\n    mirrorPercentage: {value: 5}\n")));
        let err = stage(
            &mirrored,
            "se.example.com",
            "gcp.example.com",
            "shop",
            &m,
            (1, 18),
        )
        .unwrap_err();
        assert!(err.contains("already mirrors"), "{err}");
        let out = stage(
            &mirrored,
            "se.example.com",
            "gcp.example.com",
            "shop",
            &m,
            (1, 22),
        )
        .unwrap();
        assert_eq!(
            out["spec"]["http"][0]["mirrors"],
            yaml("[{destination: {host: shadow.example.com}, percentage: {value: 5}}, {destination: {host: gcp.example.com}, percentage: {value: 12.5}}]")
        );
        assert!(out["spec"]["http"][0].get("mirror").is_none());
    }

    #[test]
    fn other_fields_keep_their_order_when_a_mirror_moves_into_mirrors() {
        let base = VirtualService::parse(
            "spec:\n  http:\n  - name: a\n    mirror: {host: shadow.example.com}\n    mirrorPercentage: {value: 5}\n    timeout: 5s\n    retries: {attempts: 3}\n    route: [{destination: {host: se.example.com}}]\n",
        )
        .unwrap();
        let m = Stage::unnamed(StageKind::Mirror(10.0));
        let out = stage(
            &base,
            "se.example.com",
            "gcp.example.com",
            "shop",
            &m,
            (1, 22),
        )
        .unwrap();
        let keys: Vec<_> = out["spec"]["http"][0]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(keys, ["name", "timeout", "retries", "route", "mirrors"]);
        check(&base, &out, "se.example.com", "gcp.example.com", "shop").unwrap();
    }

    #[test]
    fn check_notices_fields_that_moved() {
        let base = base();
        let mut out = stage(
            &base,
            "se.example.com",
            "gcp.example.com",
            "shop",
            &weight_stage(10),
            (1, 22),
        )
        .unwrap();
        let route = out["spec"]["http"][0].as_mapping_mut().unwrap();
        let timeout = route.shift_remove("timeout").unwrap();
        route.insert("timeout".into(), timeout);
        let err = check(&base, &out, "se.example.com", "gcp.example.com", "shop").unwrap_err();
        assert!(err.contains("outside route destinations"), "{err}");
    }

    #[test]
    fn check_notices_a_lost_header_set() {
        let base = one_route(
            "[{destination: {host: se.example.com, subset: a}, weight: 50, headers: {request: {set: {x-sub: a}}}}, {destination: {host: se.example.com, subset: b}, weight: 50, headers: {request: {set: {x-sub: b}}}}]",
        );
        let (from, to) = ("se.example.com", "gcp.example.com");
        let mut out = stage(&base, from, to, "shop", &weight_stage(100), (1, 22)).unwrap();
        check(&base, &out, from, to, "shop").unwrap();
        let dests = out["spec"]["http"][0]["route"].as_sequence().unwrap();
        let to_headers: Vec<&Value> = dests
            .iter()
            .filter(|d| host_of(d) == Some(to))
            .map(|d| &d["headers"])
            .collect();
        assert_eq!(
            to_headers,
            [
                &yaml("{request: {set: {x-sub: a}}}"),
                &yaml("{request: {set: {x-sub: b}}}")
            ]
        );
        // The second `to` destination with the first one's headers: `x-sub: b` is lost.
        out["spec"]["http"][0]["route"][2]["headers"] = yaml("{request: {set: {x-sub: a}}}");
        let err = check(&base, &out, from, to, "shop").unwrap_err();
        assert_eq!(
            err,
            "spec.http[0]: no `to` destination has the headers of the base's `from` destination route[1]"
        );
    }

    fn one_route(route: &str) -> VirtualService {
        VirtualService::parse(&format!(
            "spec:\n  hosts: [se.example.com]\n  http:\n  - route: {route}\n"
        ))
        .unwrap()
    }

    #[test]
    fn weights_outside_32_bits_are_refused_before_any_arithmetic() {
        // Once a division by zero (`total * 100` wrapped to 0), once 9 / 79 / 12.
        for (route, at, weight) in [
            (
                "[{destination: {host: se.example.com}, weight: 4611686018427387904}, {destination: {host: c.example.com}, weight: 0}]",
                "spec.http[0].route[0].weight",
                "4611686018427387904",
            ),
            (
                "[{destination: {host: se.example.com}, weight: 7}, {destination: {host: c.example.com}, weight: 4611686018427387905}]",
                "spec.http[0].route[1].weight",
                "4611686018427387905",
            ),
        ] {
            let base = one_route(route);
            let e = check_base(&base).unwrap_err();
            assert_eq!(
                e,
                format!("{at}: {weight} is out of range (Istio weights are 32-bit integers, from 0 to 2147483647)")
            );
            // `stage` refuses it too, on its own.
            let e = stage(&base, "se.example.com", "gcp.example.com", "shop", &weight_stage(10), (1, 22))
                .unwrap_err();
            assert!(e.contains("out of range"), "{e}");
        }
        // Routes that do not send to `from` are checked too, and lone destinations.
        let base = VirtualService::parse(
            "spec:\n  tcp:\n  - route: [{destination: {host: x.example.com}, weight: 2147483648}]\n",
        )
        .unwrap();
        assert!(check_base(&base)
            .unwrap_err()
            .starts_with("spec.tcp[0].route[0].weight: 2147483648 is out of range"));
        check_base(&self::base()).unwrap();
    }

    #[test]
    fn the_largest_weights_split_exactly() {
        let max = MAX_WEIGHT;
        let base = one_route(&format!(
            "[{{destination: {{host: se.example.com}}, weight: {max}}}, {{destination: {{host: c.example.com}}, weight: {max}}}, {{destination: {{host: d.example.com}}, weight: 0}}]"
        ));
        check_base(&base).unwrap();
        let out = stage(
            &base,
            "se.example.com",
            "gcp.example.com",
            "shop",
            &weight_stage(33),
            (1, 22),
        )
        .unwrap();
        // Exact: 16.5 / 33.5 / 50 / 0.
        assert_eq!(
            weights(&out, "http", 0),
            [
                ("gcp.example.com".into(), 17),
                ("se.example.com".into(), 33),
                ("c.example.com".into(), 50),
                ("d.example.com".into(), 0)
            ]
        );
        let huge = u128::from(u64::MAX) * 1000;
        let denom = NonZeroU128::new(huge).unwrap();
        assert_eq!(largest_remainder(&[huge * 50, huge * 50], denom), [50, 50]);
        // Numerators that add up to more than 100 shares saturate, never wrap.
        assert_eq!(
            largest_remainder(&[u128::MAX, 1], NonZeroU128::MIN),
            [u64::MAX, 1]
        );
    }

    #[test]
    fn an_existing_to_destination_with_a_subset_or_port_keeps_its_own_share() {
        for dest in [
            "{host: gcp.example.com, subset: experimental}",
            "{host: gcp.example.com, port: {number: 8443}}",
        ] {
            let base = one_route(&format!(
                "[{{destination: {{host: se.example.com}}, weight: 90}}, {{destination: {dest}, weight: 10}}]"
            ));
            let out = stage(
                &base,
                "se.example.com",
                "gcp.example.com",
                "shop",
                &weight_stage(50),
                (1, 22),
            )
            .unwrap();
            assert_eq!(
                weights(&out, "http", 0),
                [
                    ("gcp.example.com".into(), 45),
                    ("se.example.com".into(), 45),
                    ("gcp.example.com".into(), 10)
                ],
                "{dest}"
            );
            assert_eq!(
                out["spec"]["http"][0]["route"][0]["destination"],
                yaml("{host: gcp.example.com}")
            );
        }
        // A plain one takes it.
        let base = one_route("[{destination: {host: se.example.com}, weight: 90}, {destination: {host: gcp.example.com}, weight: 10}]");
        let out = stage(
            &base,
            "se.example.com",
            "gcp.example.com",
            "shop",
            &weight_stage(50),
            (1, 22),
        )
        .unwrap();
        assert_eq!(
            weights(&out, "http", 0),
            [
                ("se.example.com".into(), 45),
                ("gcp.example.com".into(), 55)
            ]
        );
    }

    #[test]
    fn a_stage_weight_above_100_is_an_error() {
        let e = stage(
            &base(),
            "se.example.com",
            "gcp.example.com",
            "shop",
            &weight_stage(101),
            (1, 22),
        )
        .unwrap_err();
        assert!(e.contains("above 100"), "{e}");
    }

    #[test]
    fn a_base_with_tags_is_refused() {
        for (doc, at, tag) in [
            ("spec: {hosts: [!env HOST]}", "spec.hosts[0]", "!env"),
            (
                "spec: {http: [{route: [{destination: {host: ! x}}]}]}",
                "spec.http[0].route[0].destination.host",
                "!",
            ),
            ("spec: {http: [!foo {route: []}]}", "spec.http[0]", "!foo"),
        ] {
            let e = check_base(&VirtualService::parse(doc).unwrap()).unwrap_err();
            assert!(
                e.starts_with(&format!("{at} has the YAML tag `{tag}`:")),
                "{doc}: {e}"
            );
            assert!(
                e.contains("a VirtualService has no meaning for tags"),
                "{e}"
            );
        }
    }

    proptest::proptest! {
        /// Any weights Istio accepts give shares that add up to 100, each the exact share
        /// rounded down or up.
        #[test]
        fn any_32_bit_weights_split_into_rounded_exact_shares(
            ws in proptest::collection::vec(0..=MAX_WEIGHT, 2..6),
            w in 0u8..=100,
        ) {
            let total: u64 = ws.iter().sum();
            proptest::prop_assume!(total > 0);
            let route: Vec<String> = ws
                .iter()
                .enumerate()
                .map(|(i, wt)| {
                    let host = if i == 0 { "se.example.com".to_owned() } else { format!("h{i}.example.com") };
                    format!("{{destination: {{host: {host}}}, weight: {wt}}}")
                })
                .collect();
            let base = one_route(&format!("[{}]", route.join(", ")));
            let out = stage(&base, "se.example.com", "gcp.example.com", "shop", &weight_stage(w), (1, 22)).unwrap();
            let got: Vec<u64> = weights(&out, "http", 0).into_iter().map(|(_, s)| s).collect();
            proptest::prop_assert_eq!(got.iter().sum::<u64>(), 100);
            // Exact shares (as f64, good to far better than one point here).
            let t = total as f64;
            let mut exact = vec![ws[0] as f64 * f64::from(w) / t, ws[0] as f64 * f64::from(100 - w) / t];
            exact.extend(ws[1..].iter().map(|&x| x as f64 * 100.0 / t));
            for (g, e) in got.iter().zip(&exact) {
                proptest::prop_assert!((*g as f64 - e).abs() < 1.0 + 1e-6, "{got:?} vs {exact:?}");
            }
        }
    }

    #[test]
    fn a_base_whose_from_is_only_unexpanded_names_the_host() {
        let base = one_route("[{destination: {host: reviews.shop}}]");
        let e = stage(
            &base,
            "reviews.shop.svc.cluster.local",
            "gcp.example.com",
            "shop",
            &weight_stage(10),
            (1, 22),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "no route sends traffic to `reviews.shop.svc.cluster.local` (Istio does not expand `reviews.shop`, a host with a dot: write `reviews.shop.svc.cluster.local` to move its traffic)"
        );
    }

    #[test]
    fn from_and_to_naming_one_host_for_istio_is_an_error() {
        let base = one_route("[{destination: {host: reviews}}]");
        let e = stage(
            &base,
            "reviews",
            "reviews.shop.svc.cluster.local",
            "shop",
            &weight_stage(10),
            (1, 22),
        )
        .unwrap_err();
        assert_eq!(e, "`from` (reviews) and `to` (reviews.shop.svc.cluster.local) are one host as Istio reads the base's hosts, in namespace shop: nothing would move");
    }

    #[test]
    fn a_base_without_from_is_an_error() {
        let base = base();
        let err = stage(
            &base,
            "nope.example.com",
            "gcp.example.com",
            "shop",
            &weight_stage(10),
            (1, 22),
        )
        .unwrap_err();
        assert!(err.contains("no route sends traffic"), "{err}");
    }
}
