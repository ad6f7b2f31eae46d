//! The rules for names, hosts and gateways: the one source of truth for the plan checker
//! (`plan::parse`) and the VirtualService checker (`check::istio`), so that what
//! `validate` accepts always renders.
//!
//! Host and gateway rules are Istio's own (istio/istio, `pkg/config/validation`:
//! `ValidateWildcardDomain`, `validateDestination`, `validateGatewayNames`, `host.Name`).
//! Where a plan is stricter than Istio, the plan's function says why
//! ([`plan_destination`], [`plan_host`]); the plan checker also compares hosts without
//! regard to case (DNS names are case-insensitive), where Istio compares them as text.

use std::net::IpAddr;

/// Whether `s` is an RFC 1123 label as Kubernetes uses it: 1 to 63 lowercase
/// letters, digits and `-`, starting and ending with a letter or digit.
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Whether `s` is an RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// Why a host is refused: Istio's own reasons, and the few rules a plan adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// The host is empty.
    Empty,
    /// Longer than 255 characters.
    TooLong,
    /// A label that is not a DNS-1123 label (the first one may be a wildcard label).
    Label(String),
    /// The top-level domain is all digits (so is every IPv4 address's last part).
    NumericTld(String),
    /// `*` where it is not allowed: a route destination, or a plan's `hosts`.
    Star,
    /// `*` in the hosts of a VirtualService bound to the mesh.
    StarOnMesh,
    /// A wildcard where one host is needed: the plan's `from` and `to`.
    Wildcard,
    /// A trailing dot (a plan's rule).
    TrailingDot,
    /// An IPv6 address in a plan's `hosts`.
    Ipv6,
}

impl HostError {
    /// The message about `host` (written as the caller wants it shown), `what` naming it:
    /// `host`, `destination host`, `SNI host`.
    pub fn message(&self, what: &str, host: &str) -> String {
        match self {
            HostError::Empty => format!("{what} is empty"),
            HostError::TooLong => format!("{what} `{host}` is longer than 255 characters"),
            HostError::Label(l) => {
                format!("{what} `{host}` is not a valid DNS name (label `{l}` is invalid)")
            }
            HostError::NumericTld(t) => format!(
                "{what} `{host}` is not a valid DNS name (top-level domain `{t}` cannot be all digits)"
            ),
            HostError::Star => format!("{what} `*` is not allowed"),
            HostError::StarOnMesh => format!(
                "wildcard {what} `*` is not allowed for a VirtualService bound to the mesh"
            ),
            HostError::Wildcard => format!("{what} `{host}` is a wildcard, not one host"),
            HostError::TrailingDot => format!("{what} `{host}` ends with a dot"),
            HostError::Ipv6 => format!("{what} `{host}` is an IPv6 address"),
        }
    }

    /// How to fix it, for a plan's diagnostics.
    pub fn help(&self) -> &'static str {
        match self {
            HostError::NumericTld(_) => {
                "Istio refuses a last label of digits (so an IP address cannot be a route destination); use a DNS name"
            }
            HostError::Star | HostError::StarOnMesh => {
                "list the hosts the migration moves; a leading `*.` wildcard is allowed"
            }
            HostError::Wildcard => {
                "`from` and `to` are route destinations: name one host (the ServiceEntry host, the GCPBackend host)"
            }
            HostError::TrailingDot => {
                "leave out the trailing dot: Istio matches `a.example.com.` and `a.example.com` as different names"
            }
            HostError::Ipv6 => "use a DNS name or an IPv4 address",
            HostError::Empty | HostError::TooLong | HostError::Label(_) => {
                "use a DNS name: labels of letters, digits and `-`, separated by dots"
            }
        }
    }
}

/// Istio's `IsDNS1123Label`: 1 to 63 letters (either case), digits and `-`, starting and
/// ending with a letter or digit.
pub fn is_label_any_case(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Istio's `IsWildcardDNS1123Label`: `*`, or a label optionally prefixed by `*` or `*-`.
fn is_wildcard_label(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let rest = s
        .strip_prefix("*-")
        .or_else(|| s.strip_prefix('*'))
        .unwrap_or(s);
    s.len() <= 63 && is_label_any_case(rest)
}

/// A label or other part of a name for a message: control characters replaced, at most 64
/// characters.
fn shown(s: &str) -> String {
    let clean = s
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c });
    if s.chars().count() > 64 {
        clean.take(63).chain(['…']).collect()
    } else {
        clean.collect()
    }
}

/// Istio's `validateDNS1123Labels`: dot-separated labels, an optional trailing dot, and a
/// top-level domain that is not all digits.
fn dns_labels(labels: &str) -> Result<(), HostError> {
    let parts: Vec<&str> = labels.split('.').collect();
    let tld = parts[parts.len() - 1];
    if !tld.is_empty() && tld.bytes().all(|c| c.is_ascii_digit()) {
        return Err(HostError::NumericTld(shown(tld)));
    }
    for (i, label) in parts.iter().enumerate() {
        if i == parts.len() - 1 && label.is_empty() && i > 0 {
            return Ok(());
        }
        if !is_label_any_case(label) {
            return Err(HostError::Label(shown(label)));
        }
    }
    Ok(())
}

/// Istio's `ValidateWildcardDomain`: a DNS name whose first label may be a wildcard
/// (`*.example.com`), at most 255 characters.
pub fn wildcard_domain(domain: &str) -> Result<(), HostError> {
    if domain.is_empty() {
        return Err(HostError::Empty);
    }
    if domain.len() > 255 {
        return Err(HostError::TooLong);
    }
    let (first, rest) = match domain.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (domain, None),
    };
    if !is_wildcard_label(first) {
        return Err(HostError::Label(shown(first)));
    }
    match rest {
        Some(rest) => dns_labels(rest),
        None => Ok(()),
    }
}

/// Whether `s` is an IP address (v4 or v6), as Go's `net.ParseIP` reads one.
pub fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// Istio's rule for an entry of a VirtualService's `spec.hosts`: a DNS name (a leading
/// wildcard allowed) or an IP address; `*` only when the VirtualService is not bound to
/// the mesh.
pub fn virtual_service_host(host: &str, mesh: bool) -> Result<(), HostError> {
    if host == "*" {
        return if mesh {
            Err(HostError::StarOnMesh)
        } else {
            Ok(())
        };
    }
    match wildcard_domain(host) {
        Err(_) if is_ip(host) => Ok(()),
        r => r,
    }
}

/// Istio's rule for a route destination's (or a mirror's) `host`: a DNS name, a leading
/// wildcard allowed, not `*`.
pub fn destination_host(host: &str) -> Result<(), HostError> {
    match host {
        "" => Err(HostError::Empty),
        "*" => Err(HostError::Star),
        h => wildcard_domain(h),
    }
}

/// A plan's `from` or `to`: a route destination by Istio's rule ([`destination_host`]),
/// and, stricter, one host (no wildcard: it names one service, the ServiceEntry host or
/// the GCPBackend host) written without a trailing dot (cutover compares hosts as text,
/// and Istio matches `a.example.com.` and `a.example.com` as different names).
pub fn plan_destination(host: &str) -> Result<(), HostError> {
    destination_host(host)?;
    if host.starts_with('*') {
        return Err(HostError::Wildcard);
    }
    if host.ends_with('.') {
        return Err(HostError::TrailingDot);
    }
    Ok(())
}

/// An entry of a plan's `hosts`: a VirtualService host by Istio's rule
/// ([`virtual_service_host`]), and, stricter: not `*` (a migration moves named hosts, not
/// every host a gateway sees), not an IPv6 address (the first host is also the URL host of
/// the verification Job, where one would need brackets), no trailing dot (as for
/// [`plan_destination`]).
pub fn plan_host(host: &str) -> Result<(), HostError> {
    if host == "*" {
        return Err(HostError::Star);
    }
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return Err(HostError::Ipv6);
    }
    virtual_service_host(host, false)?;
    if host.ends_with('.') {
        return Err(HostError::TrailingDot);
    }
    Ok(())
}

/// Whether `s` is a valid `from` or `to` of a plan ([`plan_destination`]).
pub fn is_host(s: &str) -> bool {
    plan_destination(s).is_ok()
}

/// Istio's `host.Name.Matches`: whether two hosts overlap, wildcards included
/// (case-sensitive, as Istio compares them).
pub fn host_matches(a: &str, b: &str) -> bool {
    let aw = a.starts_with('*');
    let bw = b.starts_with('*');
    match (aw, bw) {
        (false, false) => a == b,
        (true, true) => {
            if a.len() < b.len() {
                b[1..].ends_with(&a[1..])
            } else {
                a[1..].ends_with(&b[1..])
            }
        }
        (true, false) => b.ends_with(&a[1..]),
        (false, true) => a.ends_with(&b[1..]),
    }
}

/// Istio's `host.Name.SubsetOf`: whether every name `a` matches is matched by `b`.
pub fn subset_of(a: &str, b: &str) -> bool {
    match (a.starts_with('*'), b.starts_with('*')) {
        (true, false) => false,
        (true, true) => a[1..].ends_with(&b[1..]),
        (false, true) => a.ends_with(&b[1..]),
        (false, false) => a == b,
    }
}

/// A gateway reference, by Istio's `validateGatewayNames`: `mesh`, a gateway name, or
/// `<namespace>/<name>` with both parts DNS-1123 labels. Returns why it is not one.
///
/// Stricter than Istio, for the VirtualService checker and plans alike: names and
/// namespaces are lowercase (Kubernetes object names are; Istio's label rule also admits
/// uppercase, which can name no Gateway), a name without a namespace is a DNS-1123
/// subdomain (Istio: an FQDN, trailing dot and uppercase admitted), and every entry is
/// checked (Istio stops at the first entry without a `/`).
pub fn gateway(g: &str) -> Result<(), String> {
    match g.split_once('/') {
        Some((ns, name)) => {
            if ns.is_empty() || name.is_empty() {
                return Err("the namespace and the name cannot be empty".into());
            }
            if !is_dns1123_label(ns) {
                return Err(format!("namespace `{}` is not a DNS-1123 label", shown(ns)));
            }
            if !is_dns1123_label(name) {
                return Err(format!("name `{}` is not a DNS-1123 label", shown(name)));
            }
            Ok(())
        }
        None if is_dns1123_subdomain(g) => match dns_labels(g) {
            Err(HostError::NumericTld(t)) => {
                Err(format!("top-level domain `{t}` cannot be all digits"))
            }
            _ => Ok(()),
        },
        None => Err(
            "must be `mesh`, a gateway name (a DNS-1123 subdomain) or `<namespace>/<name>`".into(),
        ),
    }
}

/// The known word closest to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (strsim::levenshtein(&lower, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// A Cloud Run service name: 1 to 49 lowercase letters, digits and `-`, starting with a
/// letter and not ending with `-`.
pub fn is_cloud_run_service(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 49
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A Google Cloud region: `europe-west1`, `us-central1`, `northamerica-northeast2`.
pub fn is_region(s: &str) -> bool {
    let Some((area, rest)) = s.split_once('-') else {
        return false;
    };
    let digits = rest.trim_start_matches(|c: char| c.is_ascii_lowercase());
    !area.is_empty()
        && area.bytes().all(|c| c.is_ascii_lowercase())
        && digits.len() < rest.len()
        && !digits.is_empty()
        && digits.bytes().all(|c| c.is_ascii_digit())
}

/// A Google Cloud project ID: 6 to 30 lowercase letters, digits and `-`, starting with a
/// letter and not ending with `-`.
pub fn is_project(s: &str) -> bool {
    let b = s.as_bytes();
    (6..=30).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b[b.len() - 1] != b'-'
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// A container image reference pinned to a version: a digest (`name@sha256:<64 hex>`,
/// also after a tag, which is then a label) or a tag other than `latest` (`name:8.11.1`;
/// a registry's `host:port/` is not a tag).
pub fn is_pinned_image(s: &str) -> bool {
    let (name, tag, digest) = image_parts(s);
    if !is_image_name(name) {
        return false;
    }
    match (tag, digest) {
        (_, Some(d)) => d.strip_prefix("sha256:").is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }),
        (Some(tag), None) => {
            let b = tag.as_bytes();
            tag != "latest"
                && (1..=128).contains(&b.len())
                && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        }
        (None, None) => false,
    }
}

/// A container image reference's name is well formed (see [`is_image_name`]), whatever
/// its tag or digest.
pub fn is_image_reference(s: &str) -> bool {
    is_image_name(image_parts(s).0)
}

/// An image reference's name, tag and digest: `name[:tag][@digest]`.
fn image_parts(s: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = s.split_once('@').map_or((s, None), |(r, d)| (r, Some(d)));
    match rest.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
        Some((name, tag)) => (name, Some(tag), digest),
        None => (rest, None, digest),
    }
}

/// An image's name without tag or digest: an optional registry host (`host[:port]/`,
/// recognised by a `.` or `:` or as `localhost`), then path components of lowercase
/// letters, digits and the separators `.`, `_`, `-` (as the image reference grammar
/// has them; the kubelet refuses anything else).
fn is_image_name(name: &str) -> bool {
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        parts.remove(0);
    }
    parts.iter().all(|p| {
        let b = p.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-')
            })
    })
}

/// A lowercase HTTP header name as Istio matches it.
pub fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.starts_with('-')
}

/// A value `cutover import` could not know, written into the plan it proposes so that
/// nothing is rendered by accident: `validate` refuses any string holding one, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// As written in the plan, e.g. `<gcp-backend-host>`.
    pub token: &'static str,
    /// What to write instead.
    pub replace_with: &'static str,
}

/// Every placeholder `cutover import` writes.
pub const PLACEHOLDERS: [Placeholder; 4] = [
    Placeholder {
        token: "<gcp-backend-host>",
        replace_with: "the GCPBackend host traffic moves to (or run `cutover import --to HOST`, where HOST may hold {service}, {namespace} and {region})",
    },
    Placeholder {
        token: "<cloud-run-service>",
        replace_with: "the Cloud Run service's name (`gcloud run services list`)",
    },
    Placeholder {
        token: "<region>",
        replace_with: "the Cloud Run service's region, e.g. europe-west1 (`gcloud run services list`)",
    },
    Placeholder {
        token: "<namespace>",
        replace_with: "the namespace of the VirtualService (a DNS-1123 label)",
    },
];

/// The first placeholder `s` holds, if any (see [`PLACEHOLDERS`]).
pub fn placeholder_in(s: &str) -> Option<&'static Placeholder> {
    if !s.contains('<') {
        return None;
    }
    PLACEHOLDERS.iter().find(|p| s.contains(p.token))
}

#[cfg(test)]
mod tests {
    #[test]
    fn pinned_images() {
        let digest = format!("curlimages/curl@sha256:{}", "a".repeat(64));
        let tagged_digest = format!("localhost:5000/curl:8.11.1@sha256:{}", "0".repeat(64));
        for ok in [
            "curlimages/curl:8.11.1",
            "registry.example.com:5000/tools/curl:v1",
            "curl:8",
            digest.as_str(),
            tagged_digest.as_str(),
        ] {
            assert!(is_pinned_image(ok), "{ok}");
        }
        for bad in [
            "curlimages/curl",
            "curlimages/curl:latest",
            "registry.example.com:5000/tools/curl",
            "curl:",
            "curl:-x",
            ":8",
            "curl@sha256:abc",
            "curl@md5:00",
            "CURL:8",
            "curlimages/Curl:8",
            "-curl:8",
        ] {
            assert!(!is_pinned_image(bad), "{bad}");
        }
    }

    use super::*;

    #[test]
    fn labels() {
        for ok in ["a", "checkout", "a-1", "0", &"a".repeat(63)] {
            assert!(is_dns1123_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64), "é"] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
    }

    #[test]
    fn hosts() {
        for ok in [
            "cr-service-entry.com",
            "reviews",
            "A.example.com",
            "x.svc.cluster.local",
        ] {
            assert!(is_host(ok), "{ok}");
        }
        for bad in [
            "", "*", "a..b", "a.", ".a", "a b", "a\nb", "-a.com", "a_b.com", "{{x}}",
        ] {
            assert!(!is_host(bad), "{bad}");
        }
        assert!(plan_host("*.example.com").is_ok());
        assert!(plan_host("*").is_err());
        assert!(plan_host("a.*.com").is_err());
    }

    #[test]
    fn plan_destinations_follow_istio_and_name_one_host() {
        for ok in ["a.example.com", "1e5", "reviews", "A-1.b2.com", "x.123a"] {
            assert_eq!(plan_destination(ok), Ok(()), "{ok}");
        }
        let tld = |t: &str| Err(HostError::NumericTld(t.into()));
        assert_eq!(plan_destination("1.2.3.4"), tld("4"));
        assert_eq!(plan_destination("1.22"), tld("22"));
        // Istio checks the top-level domain only after a dot: a short name of digits passes.
        assert_eq!(plan_destination("123"), Ok(()));
        assert_eq!(plan_destination("a.123"), tld("123"));
        assert_eq!(plan_destination("*.a.com"), Err(HostError::Wildcard));
        assert_eq!(plan_destination("*"), Err(HostError::Star));
        assert_eq!(plan_destination("a.com."), Err(HostError::TrailingDot));
        assert_eq!(plan_destination(""), Err(HostError::Empty));
        assert_eq!(plan_destination(&"a.".repeat(128)), Err(HostError::TooLong));
        assert_eq!(
            plan_destination("a_b.com"),
            Err(HostError::Label("a_b".into()))
        );
    }

    #[test]
    fn plan_hosts_follow_istio_with_reasons_to_be_stricter() {
        for ok in ["1.2.3.4", "*.example.com", "*foo.example.com", "A.b.com"] {
            assert_eq!(plan_host(ok), Ok(()), "{ok}");
        }
        assert_eq!(plan_host("1.2.3"), Err(HostError::NumericTld("3".into())));
        assert_eq!(plan_host("*"), Err(HostError::Star));
        assert_eq!(plan_host("::1"), Err(HostError::Ipv6));
        assert_eq!(plan_host("a.com."), Err(HostError::TrailingDot));
        assert_eq!(plan_host("a.*.com"), Err(HostError::Label("*".into())));
        // Istio's own rule: `*` only off the mesh, IP addresses allowed.
        assert_eq!(virtual_service_host("*", false), Ok(()));
        assert_eq!(virtual_service_host("*", true), Err(HostError::StarOnMesh));
        assert_eq!(virtual_service_host("::1", true), Ok(()));
        assert_eq!(virtual_service_host("a.com.", true), Ok(()));
    }

    #[test]
    fn messages_name_the_value_and_the_reason() {
        assert_eq!(
            HostError::NumericTld("22".into()).message("host", "1.22"),
            "host `1.22` is not a valid DNS name (top-level domain `22` cannot be all digits)"
        );
        assert_eq!(
            HostError::Empty.message("destination host", ""),
            "destination host is empty"
        );
        // Parts quoted in a reason are cut short and cleaned.
        let Err(HostError::Label(l)) = wildcard_domain(&format!("a_{}\n.com", "b".repeat(100)))
        else {
            panic!()
        };
        assert!(l.chars().count() == 64 && !l.contains('\n'), "{l}");
    }

    #[test]
    fn gateways() {
        for ok in [
            "mesh",
            "istio-system/ingress",
            "edge",
            "edge.gw",
            "gw.ns",
            "1a",
        ] {
            assert_eq!(gateway(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("a/b/c", "name `b/c` is not a DNS-1123 label"),
            (
                "istio-system/edge.gw",
                "name `edge.gw` is not a DNS-1123 label",
            ),
            ("Istio/gw", "namespace `Istio` is not a DNS-1123 label"),
            ("/gw", "cannot be empty"),
            ("123", "top-level domain `123` cannot be all digits"),
            ("gw.1", "top-level domain `1` cannot be all digits"),
            ("", "must be `mesh`"),
            ("Gateway", "must be `mesh`"),
        ] {
            let got = gateway(bad).unwrap_err();
            assert!(got.contains(why), "{bad}: {got}");
        }
    }

    proptest::proptest! {
        /// What a plan accepts, the VirtualService checker accepts: a plan's `from`/`to` as
        /// a route destination and as a VirtualService host (`hosts` defaults to `[from]`),
        /// a plan's `hosts` entries as VirtualService hosts, bound to the mesh or not.
        #[test]
        fn plan_rules_imply_istio_rules(h in "[*]?([a-zA-Z0-9:_*-]{0,4}[.]?){0,5}") {
            if plan_destination(&h).is_ok() {
                proptest::prop_assert!(destination_host(&h).is_ok());
                proptest::prop_assert!(plan_host(&h).is_ok());
            }
            if plan_host(&h).is_ok() {
                proptest::prop_assert!(virtual_service_host(&h, true).is_ok());
            }
        }
    }

    #[test]
    fn suggestions() {
        let known = ["weight", "mirror", "name"];
        assert_eq!(suggest("wieght", &known), Some("weight"));
        assert_eq!(suggest("Weight", &known), Some("weight"));
        assert_eq!(suggest("zzzzzz", &known), None);
    }
}
