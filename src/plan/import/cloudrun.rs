//! Cloud Run hosts: which ServiceEntry hosts are Cloud Run services, and what their
//! `run.app` URL says about the service.
//!
//! Cloud Run's documentation ("Invoke with an HTTPS request", cloud.google.com/run/docs/
//! triggering/https-request, section "Deterministic URL") gives the deterministic URL as
//! `https://[TAG---]SERVICE_NAME-PROJECT_NUMBER.REGION.run.app` (TAG: an optional traffic
//! tag; PROJECT_NUMBER: the project's number; REGION: e.g. `us-central1`), available when
//! that first DNS segment has at most 63 characters, and says every service also has a
//! hash-based, non-deterministic URL. That older form is
//! `SERVICE-HASH-CODE.a.run.app` (`hello-abc123xyz-uc.a.run.app`): it names the service
//! but not the region (CODE is a short region code, not the region's name).

use globset::{GlobBuilder, GlobMatcher};

use crate::plan::names;

/// The pattern of Cloud Run's own hosts, matched when no other is given as well.
pub const DEFAULT_PATTERN: &str = "*.run.app";

/// What a Cloud Run URL says about its service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Url {
    /// `[TAG---]SERVICE-PROJECT_NUMBER.REGION.run.app`.
    Deterministic {
        /// The service name.
        service: String,
        /// The project number.
        project_number: String,
        /// The region.
        region: String,
    },
    /// `SERVICE-HASH-CODE.a.run.app`: the service name only.
    Hashed {
        /// The service name.
        service: String,
    },
    /// A `run.app` host of either form whose service part is not a service name Cloud
    /// Run allows (`9lives-123456789012.europe-west1.run.app`): nothing is known.
    BadService {
        /// The service part, as written (lowercase).
        service: String,
    },
    /// Any other host (matched by a `--host-pattern`): nothing is known.
    Other,
}

impl Url {
    /// Reads `host` (case does not matter).
    pub fn parse(host: &str) -> Url {
        let lower = host.to_ascii_lowercase();
        let Some(rest) = lower.strip_suffix(".run.app") else {
            return Url::Other;
        };
        let Some((first, second)) = rest.split_once('.') else {
            return Url::Other;
        };
        if second.contains('.') {
            return Url::Other;
        }
        if second == "a" {
            return hashed(first).unwrap_or(Url::Other);
        }
        deterministic(first, second).unwrap_or(Url::Other)
    }

    /// The service name, when the URL gives it.
    pub fn service(&self) -> Option<&str> {
        match self {
            Url::Deterministic { service, .. } | Url::Hashed { service } => Some(service),
            Url::BadService { .. } | Url::Other => None,
        }
    }

    /// The region, when the URL gives it.
    pub fn region(&self) -> Option<&str> {
        match self {
            Url::Deterministic { region, .. } => Some(region),
            Url::Hashed { .. } | Url::BadService { .. } | Url::Other => None,
        }
    }

    /// What the URL is, for comments: `Cloud Run deterministic URL`, ...
    pub fn describe(&self) -> &'static str {
        match self {
            Url::Deterministic { .. } => "Cloud Run deterministic URL SERVICE-PROJECT_NUMBER.REGION.run.app",
            Url::Hashed { .. } => "Cloud Run hash-based URL SERVICE-HASH-CODE.a.run.app, which does not name the region",
            Url::BadService { .. } => "a run.app host whose service part is not a service name Cloud Run allows (1 to 49 lowercase letters, digits and `-`, starting with a letter)",
            Url::Other => "not a run.app URL",
        }
    }
}

/// `[TAG---]SERVICE-PROJECT_NUMBER` and `REGION`.
fn deterministic(first: &str, region: &str) -> Option<Url> {
    let first = first.rsplit_once("---").map_or(first, |(_, s)| s);
    let (service, number) = first.rsplit_once('-')?;
    let ok = !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && !service.is_empty()
        && names::is_region(region);
    ok.then(|| {
        if !names::is_cloud_run_service(service) {
            return bad_service(service);
        }
        Url::Deterministic {
            service: service.to_owned(),
            project_number: number.to_owned(),
            region: region.to_owned(),
        }
    })
}

/// `SERVICE-HASH-CODE`.
fn hashed(first: &str) -> Option<Url> {
    let (rest, code) = first.rsplit_once('-')?;
    let (service, hash) = rest.rsplit_once('-')?;
    let ok = !code.is_empty()
        && code.bytes().all(|b| b.is_ascii_lowercase())
        && !hash.is_empty()
        && hash.bytes().all(|b| b.is_ascii_alphanumeric())
        && !service.is_empty();
    ok.then(|| {
        if !names::is_cloud_run_service(service) {
            return bad_service(service);
        }
        Url::Hashed {
            service: service.to_owned(),
        }
    })
}

fn bad_service(service: &str) -> Url {
    Url::BadService {
        service: service.to_owned(),
    }
}

/// The hosts taken for Cloud Run hosts: `*.run.app` and the `--host-pattern` globs
/// (`*` any characters, dots included; `?` one; `[a-z]`, `{a,b}`), without regard to
/// case.
#[derive(Clone, Debug)]
pub struct Patterns {
    written: Vec<String>,
    matchers: Vec<GlobMatcher>,
}

impl Patterns {
    /// `*.run.app` and `extra`; an error names a pattern that is not a glob.
    pub fn new(extra: &[String]) -> Result<Patterns, String> {
        let mut written = vec![DEFAULT_PATTERN.to_owned()];
        written.extend(extra.iter().cloned());
        let matchers = written
            .iter()
            .map(|p| {
                GlobBuilder::new(p)
                    .case_insensitive(true)
                    .build()
                    .map(|g| g.compile_matcher())
                    .map_err(|e| format!("--host-pattern `{p}`: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Patterns { written, matchers })
    }

    /// The patterns as written: the default, then the `--host-pattern`s.
    pub fn written(&self) -> &[String] {
        &self.written
    }

    /// The first pattern `host` matches, as written.
    pub fn matching(&self, host: &str) -> Option<&str> {
        self.matchers
            .iter()
            .position(|m| m.is_match(host))
            .map(|i| self.written[i].as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_urls_name_service_project_and_region() {
        assert_eq!(
            Url::parse("orders-123456789012.europe-west1.run.app"),
            Url::Deterministic {
                service: "orders".into(),
                project_number: "123456789012".into(),
                region: "europe-west1".into()
            }
        );
        // A service name with dashes, a traffic tag, upper case.
        let u = Url::parse("Blue---Order-Api-42.us-central1.run.app");
        assert_eq!(u.service(), Some("order-api"));
        assert_eq!(u.region(), Some("us-central1"));
    }

    #[test]
    fn hashed_urls_name_the_service_only() {
        let u = Url::parse("hello-abc123xyz-uc.a.run.app");
        assert_eq!(
            u,
            Url::Hashed {
                service: "hello".into()
            }
        );
        assert_eq!(u.region(), None);
        assert_eq!(
            Url::parse("my-api-svc-x7k2q9-ew.a.run.app").service(),
            Some("my-api-svc")
        );
    }

    #[test]
    fn other_hosts_say_nothing() {
        for host in [
            "run.app",
            "x.run.app",
            "orders.europe-west1.run.app",
            "orders-12a.europe-west1.run.app",
            "orders-1.nowhere.run.app",
            "a.b.c.run.app",
            "hello-uc.a.run.app",
            "orders.example.com",
            "",
        ] {
            assert_eq!(Url::parse(host), Url::Other, "{host}");
        }
    }

    #[test]
    fn run_app_hosts_with_a_service_cloud_run_does_not_allow_say_so() {
        for (host, service) in [
            ("1abc-123.europe-west1.run.app", "1abc"),
            ("9lives-123456789012.europe-west1.run.app", "9lives"),
            ("tag---x-y--1.europe-west1.run.app", "x-y-"),
            ("under_score-abc123xyz-uc.a.run.app", "under_score"),
        ] {
            let u = Url::parse(host);
            assert_eq!(
                u,
                Url::BadService {
                    service: service.into()
                },
                "{host}"
            );
            assert_eq!((u.service(), u.region()), (None, None));
            assert!(u.describe().contains("not a service name Cloud Run allows"));
        }
    }

    #[test]
    fn patterns_match_run_app_and_the_extra_globs() {
        let p = Patterns::new(&["*.internal".into(), "api.{a,b}.example.com".into()]).unwrap();
        assert_eq!(p.matching("x.y.RUN.app"), Some("*.run.app"));
        assert_eq!(p.matching("orders.internal"), Some("*.internal"));
        assert_eq!(
            p.matching("api.b.example.com"),
            Some("api.{a,b}.example.com")
        );
        assert_eq!(p.matching("run.app.example.com"), None);
        assert!(Patterns::new(&["[".into()]).is_err());
    }
}
