//! Syntax checks for the names and hosts a plan carries.

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

/// Whether `s` is a host name Istio accepts as a destination: dot-separated labels of
/// letters, digits and `-` (case-insensitive), at most 255 characters, no wildcard.
pub fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

/// Whether `s` may stand in a VirtualService's `spec.hosts`: a host, or `*.` followed by one.
pub fn is_wildcard_host(s: &str) -> bool {
    match s.strip_prefix("*.") {
        Some(rest) => is_host(rest),
        None => is_host(s),
    }
}

/// Whether `s` is a gateway reference: `mesh`, `name` or `namespace/name`.
pub fn is_gateway(s: &str) -> bool {
    match s.split_once('/') {
        Some((ns, name)) => is_dns1123_label(ns) && is_dns1123_subdomain(name),
        None => is_dns1123_subdomain(s),
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

/// A lowercase HTTP header name as Istio matches it.
pub fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.starts_with('-')
}

#[cfg(test)]
mod tests {
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
        assert!(is_wildcard_host("*.example.com"));
        assert!(!is_wildcard_host("*"));
        assert!(!is_wildcard_host("a.*.com"));
    }

    #[test]
    fn gateways() {
        assert!(is_gateway("mesh"));
        assert!(is_gateway("istio-system/ingress"));
        assert!(!is_gateway("a/b/c"));
        assert!(!is_gateway(""));
    }

    #[test]
    fn suggestions() {
        let known = ["weight", "mirror", "name"];
        assert_eq!(suggest("wieght", &known), Some("weight"));
        assert_eq!(suggest("Weight", &known), Some("weight"));
        assert_eq!(suggest("zzzzzz", &known), None);
    }
}
