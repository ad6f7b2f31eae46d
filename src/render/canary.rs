//! Header canary stages of a migration with a `base`.
//!
//! Istio takes the first HTTP route whose `match` a request meets. A header canary
//! stage therefore inserts, just before each HTTP route of the base that sends traffic
//! to `from`, a *canary route*: that route as the 100% stage writes it (every `from`
//! share moved to `to`, other destinations and all other fields as they were), with
//! the canary header added to each of its `match` conditions (a route without `match`
//! gets one that is only the header). A request with the header thus reaches the
//! canary route exactly when it would have reached the original route: requests that
//! never reached `from` (an `/admin` route to another host) are not captured. The
//! original routes get the stage's weight as in any weight stage (0 without `weight`).
//!
//! A canary route whose base route is named `NAME` is named `NAME-STAGE` (Istio reports
//! route names in its metrics and access logs).

use serde_yaml::{Mapping, Value};

use crate::plan::stage::{Stage, StageKind};
use crate::render::rewrite;
use crate::vs::{identical, HostResolver, Route, VirtualService};

/// `out` (the stage rewritten from `base` by [`rewrite::stage`]) with a canary route
/// for header `(name, value)` inserted before each HTTP route that sends to `from`.
/// Hosts are read as [`rewrite::stage`] reads them (`namespace`: the migration's).
pub fn insert(
    out: &mut VirtualService,
    base: &VirtualService,
    (from, to): (&str, &str),
    namespace: &str,
    stage: &Stage,
    istio: (u32, u32),
) -> Result<(), String> {
    let Some((name, value)) = &stage.header else {
        return Ok(());
    };
    let full = rewrite::stage(
        base,
        from,
        to,
        namespace,
        &Stage::unnamed(StageKind::Weight(100)),
        istio,
    )?;
    let names = HostResolver::of(base, namespace);
    // Route names in use: a canary route's name is made unique among them.
    let mut taken: Vec<String> = base
        .http_routes()
        .filter_map(|r| r.as_value().get("name")?.as_str().map(str::to_owned))
        .collect();
    let mut canaries = Vec::new();
    for (i, route) in full.http_routes().enumerate() {
        if !sending(base, i, from, &names) {
            continue;
        }
        let at = |e: String| format!("spec.http[{i}]: {e}");
        let mut c = canary(route.as_value(), name, value, &stage.name).map_err(at)?;
        if let Some(Value::String(n)) = c.get_mut("name") {
            unique(n, &taken);
            taken.push(n.clone());
        }
        canaries.push((i, c));
    }
    if canaries.is_empty() {
        return Err(format!(
            "a header canary stage, but no HTTP route sends traffic to `{from}` (only TCP or TLS routes do, which have no headers)"
        ));
    }
    let routes = out
        .routes_mut("http")
        .ok_or("lost its HTTP routes".to_owned())?;
    // From the last, so that earlier indices stay where they were.
    for (i, c) in canaries.into_iter().rev() {
        routes.insert(i, c);
    }
    Ok(())
}

/// `name`, or `name-2`, `name-3`, ...: the first not in `taken` (Istio reports route names
/// in metrics and access logs, where two routes of one name could not be told apart).
fn unique(name: &mut String, taken: &[String]) {
    let stem = name.clone();
    let mut n = 1;
    while taken.contains(name) {
        n += 1;
        *name = format!("{stem}-{n}");
    }
}

/// Whether the base's HTTP route `i` sends to `from`.
fn sending(base: &VirtualService, i: usize, from: &str, names: &HostResolver) -> bool {
    base.routes("http")
        .nth(i)
        .is_some_and(|r| r.as_value().is_mapping() && r.sends_to(from, names))
}

/// The canary route made from `full` (a route as the 100% stage writes it).
fn canary(full: &Value, name: &str, value: &str, stage: &str) -> Result<Value, String> {
    let mut route = full.clone();
    let r = route
        .as_mapping_mut()
        .ok_or("is not a mapping".to_owned())?;
    let header = Value::Mapping(Mapping::from_iter([(
        Value::from("exact"),
        Value::from(value),
    )]));
    let unconditional = match r.get("match") {
        None | Some(Value::Null) => true,
        Some(Value::Sequence(c)) => c.is_empty(),
        Some(_) => false,
    };
    if unconditional {
        r.shift_remove("match");
        let only = Mapping::from_iter([(
            Value::from("headers"),
            Value::Mapping(Mapping::from_iter([(Value::from(name), header)])),
        )]);
        let only = Value::Sequence(vec![Value::Mapping(only)]);
        // First (after `name`), where readers look for a route's conditions.
        let rest: Vec<(Value, Value)> = std::mem::take(r).into_iter().collect();
        let at = rest
            .iter()
            .position(|(k, _)| k.as_str() == Some("name"))
            .map_or(0, |p| p + 1);
        r.extend(rest.iter().take(at).cloned());
        r.insert("match".into(), only);
        r.extend(rest.into_iter().skip(at));
    } else if let Some(Value::Sequence(conditions)) = r.get_mut("match") {
        *conditions = with_headers(conditions, name, &header)?;
    } else {
        return Err("`match` is not a list".to_owned());
    }
    if let Some(Value::String(n)) = r.get_mut("name") {
        n.push('-');
        n.push_str(stage);
    }
    Ok(route)
}

/// The match conditions a canary request (one whose header `name` is exactly the value
/// in `header`) can meet, each with the header added: see [`with_header`]. Refused when
/// none is left.
fn with_headers(conditions: &[Value], name: &str, header: &Value) -> Result<Vec<Value>, String> {
    let mut kept = Vec::with_capacity(conditions.len());
    for (j, c) in conditions.iter().enumerate() {
        let mut c = c.clone();
        if with_header(&mut c, name, header).map_err(|e| format!("match[{j}]: {e}"))? {
            kept.push(c);
        }
    }
    if kept.is_empty() {
        return Err(format!(
            "no match condition of the route can match a request with header `{name}` set to the canary's value (`headers` or `withoutHeaders` rule it out): drop the header stage or change the value"
        ));
    }
    Ok(kept)
}

/// Adds `name: header` to one match condition's `headers`. `false` when no request with
/// that header can meet the condition: it already requires another value of the header,
/// or `withoutHeaders` excludes this one. A condition on the header that the value meets
/// (`prefix: t` for `true`, a `regex`, presence `{}`) is narrowed to the exact value.
fn with_header(condition: &mut Value, name: &str, header: &Value) -> Result<bool, String> {
    let value = header
        .get("exact")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let c = condition
        .as_mapping_mut()
        .ok_or("is not a mapping".to_owned())?;
    let named = |m: Option<&Value>| {
        m.and_then(Value::as_mapping).and_then(|h| {
            h.iter()
                .find(|(k, _)| k.as_str().is_some_and(|k| k.eq_ignore_ascii_case(name)))
                .map(|(k, v)| (k.clone(), v.clone()))
        })
    };
    if let Some((_, rule)) = named(c.get("withoutHeaders")) {
        if accepts(&rule, value).map_err(|e| format!("withoutHeaders.{name}: {e}"))? {
            return Ok(false);
        }
    }
    match c.get_mut("headers") {
        None | Some(Value::Null) => {
            let headers = Mapping::from_iter([(Value::from(name), header.clone())]);
            c.insert("headers".into(), Value::Mapping(headers));
        }
        Some(Value::Mapping(headers)) => match named(Some(&Value::Mapping(headers.clone()))) {
            Some((_, rule)) if identical(&rule, header) => {}
            Some((k, rule)) => {
                if !accepts(&rule, value).map_err(|e| format!("headers.{name}: {e}"))? {
                    return Ok(false);
                }
                headers.insert(k, header.clone());
            }
            None => {
                headers.insert(Value::from(name), header.clone());
            }
        },
        Some(_) => return Err("`headers` is not a mapping".to_owned()),
    }
    Ok(true)
}

/// Whether Istio's string match `rule` (`exact`, `prefix`, `regex`: RE2, matching the
/// whole value; `{}`: the header is present) accepts `value`.
fn accepts(rule: &Value, value: &str) -> Result<bool, String> {
    let m = rule.as_mapping().ok_or("is not a string match")?;
    let one = |k: &str| m.get(k).and_then(Value::as_str);
    match (m.len(), one("exact"), one("prefix"), one("regex")) {
        (0, ..) => Ok(true),
        (1, Some(e), ..) => Ok(e == value),
        (1, _, Some(p), _) => Ok(value.starts_with(p)),
        (1, _, _, Some(r)) => regex::Regex::new(&format!("^(?:{r})$"))
            .map(|re| re.is_match(value))
            .map_err(|e| format!("`regex` is not a regular expression cutover can read: {e}")),
        _ => Err("is not a string match cutover knows (`exact`, `prefix` or `regex`)".to_owned()),
    }
}

/// `out` without the canary routes [`insert`] put there, each checked against the
/// base route it was made from: the same fields but `name`, `match` and `route`; each
/// match condition the base's plus the header (or only the header); no share left on
/// `from`. `out` itself when the stage has no header.
pub fn strip(
    out: &VirtualService,
    base: &VirtualService,
    from: &str,
    namespace: &str,
    stage: &Stage,
) -> Result<VirtualService, String> {
    let Some((name, value)) = &stage.header else {
        return Ok(out.clone());
    };
    let names = HostResolver::of(base, namespace);
    let mut stripped = out.clone();
    let Some(routes) = stripped.routes_mut("http") else {
        return Err("lost its HTTP routes".to_owned());
    };
    let mut kept = Vec::with_capacity(routes.len());
    let mut given = std::mem::take(routes).into_iter();
    for (i, b) in base.routes("http").enumerate() {
        if b.as_value().is_mapping() && b.sends_to(from, &names) {
            let c = given
                .next()
                .ok_or(format!("spec.http[{i}] lost its canary route"))?;
            check_canary(b.as_value(), &c, (from, &names), (name, value))
                .map_err(|e| format!("the canary route before spec.http[{i}]: {e}"))?;
        }
        kept.extend(given.next());
    }
    kept.extend(given);
    *routes = kept;
    Ok(stripped)
}

fn check_canary(
    base: &Value,
    c: &Value,
    (from, names): (&str, &HostResolver),
    (name, value): (&str, &str),
) -> Result<(), String> {
    let without = |v: &Value| {
        let mut m = v.as_mapping().cloned().unwrap_or_default();
        for k in ["name", "match", "route"] {
            m.shift_remove(k);
        }
        Value::Mapping(m)
    };
    if !identical(&without(base), &without(c)) {
        return Err("fields other than name, match and route differ from the route's".to_owned());
    }
    let conditions = c
        .get("match")
        .and_then(Value::as_sequence)
        .ok_or("has no match list")?;
    let conditions_of_base = match base.get("match").and_then(Value::as_sequence) {
        Some(b) if !b.is_empty() => b.clone(),
        _ => vec![Value::Mapping(Mapping::new())],
    };
    let header = Value::Mapping(Mapping::from_iter([(
        Value::from("exact"),
        Value::from(value),
    )]));
    let expected = with_headers(&conditions_of_base, name, &header)?;
    if conditions.len() != expected.len()
        || !conditions
            .iter()
            .zip(&expected)
            .all(|(a, b)| identical(a, b))
    {
        return Err(format!(
            "its match conditions are not the route's, each with header `{name}: {value}`"
        ));
    }
    let route = Route::new(0, c);
    let weights = route.weights()?;
    let left: u64 = route
        .destinations()
        .into_iter()
        .flatten()
        .zip(&weights)
        .filter(|(d, _)| d.is(from, names))
        .map(|(_, w)| *w)
        .sum();
    if left > 0 || weights.iter().sum::<u64>() != 100 {
        return Err(format!(
            "it leaves a share on `{from}` or its weights do not add up to 100"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &str = "se.example.com";
    const TO: &str = "gcp.example.com";
    const NS: &str = "shop";

    fn header_stage(w: u8) -> Stage {
        Stage {
            name: format!("header-x-canary-{w}"),
            header: Some(("x-canary".into(), "true".into())),
            ..Stage::unnamed(StageKind::Weight(w))
        }
    }

    fn yaml(s: &str) -> Value {
        serde_yaml::from_str(s).unwrap()
    }

    fn staged(base: &VirtualService, stage: &Stage) -> Result<VirtualService, String> {
        let mut out = rewrite::stage(base, FROM, TO, NS, stage, (1, 22))?;
        insert(&mut out, base, (FROM, TO), NS, stage, (1, 22))?;
        Ok(out)
    }

    #[test]
    fn a_route_without_conditions_gets_only_the_header_first_after_its_name() {
        for routes in [
            "[{timeout: 5s, name: all, route: [{destination: {host: se.example.com}}]}]",
            "[{timeout: 5s, name: all, match: [], route: [{destination: {host: se.example.com}}]}]",
        ] {
            let base = VirtualService::parse(&format!("spec: {{http: {routes}}}")).unwrap();
            let stage = header_stage(10);
            let out = staged(&base, &stage).unwrap();
            let canary = &out["spec"]["http"][0];
            let keys: Vec<_> = canary
                .as_mapping()
                .unwrap()
                .keys()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(keys, ["timeout", "name", "match", "route"], "{routes}");
            assert_eq!(canary["name"], "all-header-x-canary-10");
            assert_eq!(
                canary["match"],
                yaml("[{headers: {x-canary: {exact: 'true'}}}]")
            );
            assert_eq!(
                canary["route"],
                yaml("[{destination: {host: gcp.example.com}, weight: 100}, {destination: {host: se.example.com}, weight: 0}]")
            );
            // The original route follows, at the stage's weight.
            assert_eq!(out["spec"]["http"][1]["route"][0]["weight"], 10);
            let weighted = strip(&out, &base, FROM, NS, &stage).unwrap();
            rewrite::check(&base, &weighted, FROM, TO, NS).unwrap();
        }
    }

    #[test]
    fn an_identical_header_condition_is_kept_once() {
        let base = VirtualService::parse(
            "spec: {http: [{match: [{headers: {X-Canary: {exact: 'true'}}}], route: [{destination: {host: se.example.com}}]}]}",
        )
        .unwrap();
        let stage = header_stage(0);
        let out = staged(&base, &stage).unwrap();
        assert_eq!(
            out["spec"]["http"][0]["match"],
            base["spec"]["http"][0]["match"]
        );
        strip(&out, &base, FROM, NS, &stage).unwrap();
    }

    #[test]
    fn strip_refuses_a_canary_route_that_differs_from_its_route() {
        let base = VirtualService::parse(
            "spec: {http: [{match: [{uri: {prefix: /a}}], timeout: 5s, route: [{destination: {host: se.example.com}}]}, {route: [{destination: {host: other.example.com}}]}]}",
        )
        .unwrap();
        let stage = header_stage(10);
        let out = staged(&base, &stage).unwrap();
        strip(&out, &base, FROM, NS, &stage).unwrap();
        let tamper = |f: &dyn Fn(&mut Value)| {
            let mut bad = out.clone();
            f(&mut bad["spec"]["http"][0]);
            strip(&bad, &base, FROM, NS, &stage).unwrap_err()
        };
        let e = tamper(&|c| c["timeout"] = "6s".into());
        assert!(e.contains("fields other than"), "{e}");
        let e = tamper(&|c| c["match"][0]["headers"]["x-canary"]["exact"] = "false".into());
        assert!(e.contains("match conditions"), "{e}");
        let e = tamper(&|c| c["match"][0]["uri"]["prefix"] = "/".into());
        assert!(e.contains("match conditions"), "{e}");
        let e = tamper(&|c| {
            c["route"][0]["weight"] = 90.into();
            c["route"][1]["weight"] = 10.into();
        });
        assert!(e.contains("leaves a share"), "{e}");
        // A missing canary route: the next route is read as one.
        let mut bad = out.clone();
        bad.routes_mut("http").unwrap().remove(0);
        assert!(strip(&bad, &base, FROM, NS, &stage).is_err());
    }

    #[test]
    fn conditions_on_the_header_are_narrowed_kept_or_dropped_as_a_canary_request_meets_them() {
        let base = VirtualService::parse(
            "spec: {http: [{name: api, match: [
              {uri: {prefix: /a}, headers: {x-canary: {prefix: t}}},
              {uri: {prefix: /b}, headers: {x-canary: {exact: 'false'}}},
              {uri: {prefix: /c}, withoutHeaders: {x-canary: {exact: 'false'}}},
              {uri: {prefix: /d}, withoutHeaders: {x-canary: {regex: 'tr.e'}}},
              {uri: {prefix: /e}, headers: {x-canary: {regex: 't.*|yes'}}},
              {uri: {prefix: /f}, headers: {x-canary: {}}}
            ], route: [{destination: {host: se.example.com}}]}, {name: api-header-x-canary-0, route: [{destination: {host: other.example.com}}]}]}",
        )
        .unwrap();
        let stage = header_stage(0);
        let out = staged(&base, &stage).unwrap();
        let canary = &out["spec"]["http"][0];
        assert_eq!(
            canary["match"],
            yaml("[{uri: {prefix: /a}, headers: {x-canary: {exact: 'true'}}}, {uri: {prefix: /c}, withoutHeaders: {x-canary: {exact: 'false'}}, headers: {x-canary: {exact: 'true'}}}, {uri: {prefix: /e}, headers: {x-canary: {exact: 'true'}}}, {uri: {prefix: /f}, headers: {x-canary: {exact: 'true'}}}]")
        );
        // The name is made unique among the base's route names.
        assert_eq!(canary["name"], "api-header-x-canary-0-2");
        let weighted = strip(&out, &base, FROM, "shop", &stage).unwrap();
        rewrite::check(&base, &weighted, FROM, TO, "shop").unwrap();
        // Nothing left: refused.
        let none = VirtualService::parse(
            "spec: {http: [{match: [{headers: {x-canary: {prefix: f}}}, {withoutHeaders: {x-canary: {}}}], route: [{destination: {host: se.example.com}}]}]}",
        )
        .unwrap();
        let e = staged(&none, &stage).unwrap_err();
        assert!(
            e.contains("spec.http[0]: no match condition of the route can match"),
            "{e}"
        );
        let bad = VirtualService::parse(
            "spec: {http: [{match: [{headers: {x-canary: {regex: '('}}}], route: [{destination: {host: se.example.com}}]}]}",
        )
        .unwrap();
        let e = staged(&bad, &stage).unwrap_err();
        assert!(
            e.contains("match[0]: headers.x-canary: `regex` is not a regular expression"),
            "{e}"
        );
    }

    #[test]
    fn stages_without_a_header_are_left_alone() {
        let base = VirtualService::parse(
            "spec: {http: [{route: [{destination: {host: se.example.com}}]}]}",
        )
        .unwrap();
        let stage = Stage::unnamed(StageKind::Weight(10));
        let out = staged(&base, &stage).unwrap();
        assert_eq!(out.routes("http").count(), 1);
        assert!(identical(
            &strip(&out, &base, FROM, NS, &stage).unwrap(),
            &out
        ));
    }
}
