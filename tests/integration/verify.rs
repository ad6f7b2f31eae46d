//! The verification Job (`verify`), through the binary: where `render` writes it (a Job in
//! each stage folder with `everyStage`, else one Job run by hand), what its name, URLs,
//! numbers and annotations are, what the plan may not ask of it, and that `check` agrees
//! with what `render` wrote.
//!
//! The Job's shell script itself is run against stub servers by `.ci/verify-job-test.sh`.

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::extras::{rendered, repo_with, resources, yaml};
use crate::test::{assert_unchanged, fixtures, Test};

// --- reading a Job -------------------------------------------------------------------------

/// The Job's one container.
fn container(job: &Value) -> &Value {
    &job["spec"]["template"]["spec"]["containers"][0]
}

/// The value of the Job's environment variable `key`.
fn env(job: &Value, key: &str) -> String {
    let env = &container(job)["env"];
    env.as_sequence()
        .and_then(|e| e.iter().find(|v| v["name"].as_str() == Some(key)))
        .and_then(|v| v["value"].as_str())
        .unwrap_or_else(|| panic!("no {key} variable in {env:?}"))
        .to_owned()
}

/// The Job's annotations.
fn annotations(job: &Value) -> BTreeMap<String, String> {
    serde_yaml::from_value(job["metadata"]["annotations"].clone()).expect("annotations")
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The Job's `metadata.name`.
fn name(job: &Value) -> String {
    job["metadata"]["name"].as_str().expect("name").to_owned()
}

/// The script the Job runs: its command must be `sh -c SCRIPT`.
fn script(job: &Value) -> String {
    let command = container(job)["command"].as_sequence().expect("command");
    assert_eq!(command.len(), 3, "{command:?}");
    assert_eq!(command[0].as_str(), Some("sh"));
    assert_eq!(command[1].as_str(), Some("-c"));
    command[2].as_str().expect("script").to_owned()
}

/// The stage folders of migration `m` under `deploy/`, in rollout order.
fn stage_folders(t: &Test, m: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(t.path().join("deploy").join(m).join("stages"))
        .expect("read the stages folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every stage's Job of migration `m` (`everyStage`), by stage folder.
fn stage_jobs(t: &Test, m: &str) -> Vec<(String, Value)> {
    stage_folders(t, m)
        .into_iter()
        .map(|s| {
            let job = yaml(t, &format!("deploy/{m}/stages/{s}/verify-job.yaml"));
            (s, job)
        })
        .collect()
}

/// Checks that stage `number`'s Job is named `<base>-<number>-<hash>`, where `hash` is 8
/// lowercase hex digits, the start of the digest of what the stage deploys, which the Job
/// also logs (`STAGE_DIGEST`); returns the hash. That the digest follows the Job, the
/// stage's VirtualService and the GCPBackend is [`stage_job_names_are_stable_and_follow_what_the_stage_deploys`]'s.
#[track_caller]
fn check_stage_job_name(t: &Test, path: &str, base: &str, number: usize) -> String {
    let text = t.read(path);
    let job: Value = serde_yaml::from_str(&text).expect("a YAML document");
    let full = name(&job);
    let hash = full
        .strip_prefix(&format!("{base}-{number}-"))
        .unwrap_or_else(|| panic!("{path}: `{full}` is not `{base}-{number}-<hash>`"));
    assert!(
        hash.len() == 8 && hash.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
        "{path}: `{hash}` is not 8 lowercase hex digits"
    );
    assert!(full.len() <= 63, "{path}: `{full}` is longer than 63");
    assert_eq!(env(&job, "STAGE_DIGEST"), hash, "{path}");
    hash.to_owned()
}

// --- one Job per stage ---------------------------------------------------------------------

const EVERY_STAGE: &str = r#"version: 1
output: deploy
defaults:
  namespace: shop
migrations:
  - name: orders
    from: orders-se.example.com
    to: orders-gcp.example.com
    gcpBackend: {service: orders, region: europe-west1}
    verify: {path: /healthz, everyStage: true}
    stages:
      - mirror: 10
      - header: {name: x-canary, value: "true"}
      - weight: 50
      - weight: 100
  - name: ledger
    from: ledger-se.example.com
    to: ledger-gcp.example.com
    verify: {name: ledger-smoke, everyStage: true}
    stages: [{weight: 10}, {weight: 100}]
"#;

#[test]
fn every_stage_puts_a_job_in_each_stage_folder_listed_by_its_kustomization() {
    let t = rendered(EVERY_STAGE);
    let mut names = Vec::new();
    for (m, base, listed) in [
        (
            "orders",
            "orders-verify",
            &["virtualservice.yaml", "../../gcpbackend", "verify-job.yaml"][..],
        ),
        (
            "ledger",
            "ledger-smoke",
            &["virtualservice.yaml", "verify-job.yaml"][..],
        ),
    ] {
        // No folder of its own: each stage holds its Job.
        assert!(!t.exists(&format!("deploy/{m}/verify")), "{m}/verify");
        let stages = stage_folders(&t, m);
        for (i, stage) in stages.iter().enumerate() {
            let dir = format!("deploy/{m}/stages/{stage}");
            assert_eq!(
                resources(&t, &format!("{dir}/kustomization.yaml")),
                listed,
                "{dir}"
            );
            let path = format!("{dir}/verify-job.yaml");
            check_stage_job_name(&t, &path, base, i + 1);
            let job = yaml(&t, &path);
            assert_eq!(job["kind"].as_str(), Some("Job"), "{path}");
            assert_eq!(job["apiVersion"].as_str(), Some("batch/v1"), "{path}");
            assert_eq!(job["metadata"]["namespace"].as_str(), Some("shop"));
            assert_eq!(
                job["metadata"]["labels"]["app.kubernetes.io/name"].as_str(),
                Some(base)
            );
            assert_eq!(env(&job, "STAGE"), *stage, "{path}");
            names.push(name(&job));
        }
    }
    assert_eq!(names.len(), 6);
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        names.len(),
        "two Jobs share a name: {names:?}"
    );
    // 4 stages x 3 files + the GCPBackend's 2, and 2 stages x 3 files.
    t.args(["check"])
        .stdout("ok: 20 generated files up to date\n")
        .run();
}

#[test]
fn stage_job_names_are_stable_and_follow_what_the_stage_deploys() {
    let names = |t: &Test| -> Vec<String> {
        stage_jobs(t, "orders")
            .iter()
            .map(|(_, job)| name(job))
            .collect()
    };
    let t = rendered(EVERY_STAGE);
    let first = names(&t);
    // A second render, here and in another folder, gives the same names and files.
    t.args(["render", "cutover.yaml"])
        .stdout("orders: 0 written, 14 unchanged, 0 removed (cutover.yaml)\nledger: 0 written, 6 unchanged, 0 removed (cutover.yaml)\n")
        .run();
    let other = rendered(EVERY_STAGE);
    assert_eq!(names(&other), first);
    for stage in stage_folders(&t, "orders") {
        let path = format!("deploy/orders/stages/{stage}/verify-job.yaml");
        assert_eq!(t.read(&path), other.read(&path), "{path}");
    }

    // A change of what one stage deploys (its VirtualService) is a new Job for that
    // stage only ...
    let canary = EVERY_STAGE.replace("value: \"true\"", "value: \"yes\"");
    assert_ne!(canary, EVERY_STAGE);
    t.write("cutover.yaml", &canary);
    t.args(["render", "cutover.yaml"])
        .stdout_contains("orders: 2 written, 12 unchanged, 0 removed")
        .run();
    let after = names(&t);
    for (i, (old, new)) in first.iter().zip(&after).enumerate() {
        assert_eq!(old == new, i != 1, "stage {}: {old} -> {new}", i + 1);
    }

    // ... a change of the GCPBackend, a new Job at every stage ...
    let with_project = canary.replace(
        "region: europe-west1}",
        "region: europe-west1, project: shop-prod-123}",
    );
    t.write("cutover.yaml", &with_project);
    t.args(["render", "cutover.yaml"])
        .stdout_contains("orders: 5 written, 9 unchanged, 0 removed")
        .run();
    let projected = names(&t);
    for (old, new) in after.iter().zip(&projected) {
        assert_ne!(old, new);
    }
    let first = projected;

    // ... and so is a changed Job: same stage numbers, new hashes.
    t.write(
        "cutover.yaml",
        with_project.replace("path: /healthz", "path: /ready"),
    );
    t.args(["render", "cutover.yaml"])
        .stdout_contains("orders: 4 written, 10 unchanged, 0 removed")
        .run();
    let changed = names(&t);
    for (i, (old, new)) in first.iter().zip(&changed).enumerate() {
        assert_ne!(old, new, "stage {}", i + 1);
        let stage = &stage_folders(&t, "orders")[i];
        let path = format!("deploy/orders/stages/{stage}/verify-job.yaml");
        check_stage_job_name(&t, &path, "orders-verify", i + 1);
        assert_eq!(
            env(&yaml(&t, &path), "CLIENT_URL"),
            "http://orders-se.example.com/ready"
        );
    }
    t.args(["check"])
        .stdout("ok: 20 generated files up to date\n")
        .run();
}

/// `verify.name` is as long as it may be: stage Job names of exactly 63 characters. With
/// 10 stages the stage number takes one more character.
#[test]
fn a_name_at_the_limit_gives_63_character_job_names() {
    for (stages, len) in [(4, 52), (10, 51)] {
        let base = format!("v{}", "x".repeat(len - 1));
        let weights: Vec<String> = (1..=stages)
            .map(|i| format!("{{weight: {}}}", i * 100 / stages))
            .collect();
        let plan = format!(
            "version: 1\noutput: deploy\nmigrations:\n  - name: orders\n    namespace: shop\n    \
             from: orders-se.example.com\n    to: orders-gcp.example.com\n    \
             verify: {{name: {base}, everyStage: true}}\n    stages: [{}]\n",
            weights.join(", ")
        );
        let t = rendered(&plan);
        let jobs = stage_jobs(&t, "orders");
        assert_eq!(jobs.len(), stages);
        let (last, job) = jobs.last().expect("a stage");
        assert_eq!(name(job).len(), 63, "{last}: {}", name(job));
        check_stage_job_name(
            &t,
            &format!("deploy/orders/stages/{last}/verify-job.yaml"),
            &base,
            stages,
        );
        t.args(["check"]).any_stdout().run();
        // One more character is refused (see fixtures/invalid/verify-name-too-long-every-stage).
        let t = repo_with(&plan.replace(&base, &format!("{base}x")));
        t.args(["validate", "cutover.yaml"])
            .status(2)
            .stderr_contains(format!("is longer than {len} characters"))
            .run();
    }
}

// --- the Job run by hand -------------------------------------------------------------------

#[test]
fn without_every_stage_one_job_is_run_by_hand() {
    let digest = format!("registry.example.com/curl@sha256:{}", "0a".repeat(32));
    let plan = format!(
        r#"version: 1
output: deploy
defaults:
  namespace: shop
  stages: [{{mirror: 10}}, {{weight: 50}}, {{weight: 100}}]
migrations:
  - name: once
    from: once-se.example.com
    to: once-gcp.example.com
    verify: {{everyStage: false}}
  - name: default
    from: default-se.example.com
    to: default-gcp.example.com
    gcpBackend: {{service: default, region: europe-west1}}
    verify: {{}}
  - name: named
    from: named-se.example.com
    to: named-gcp.example.com
    verify: {{name: smoke, image: "registry.example.com/tools/curl:8.10"}}
  - name: pinned
    from: pinned-se.example.com
    to: pinned-gcp.example.com
    verify: {{name: {long}, image: "{digest}"}}
"#,
        // A name too long for stage Jobs is fine for the one run by hand.
        long = "p".repeat(63),
    );
    let t = rendered(&plan);
    for (m, job_name, image) in [
        ("once", "once-verify", "curlimages/curl:8.11.1"),
        ("default", "default-verify", "curlimages/curl:8.11.1"),
        ("named", "smoke", "registry.example.com/tools/curl:8.10"),
        ("pinned", &"p".repeat(63), &digest),
    ] {
        // The Job has its own folder, applied when wanted ...
        assert_eq!(
            resources(&t, &format!("deploy/{m}/verify/kustomization.yaml")),
            ["job.yaml"],
            "{m}"
        );
        let job = yaml(&t, &format!("deploy/{m}/verify/job.yaml"));
        assert_eq!(name(&job), job_name, "{m}");
        assert_eq!(container(&job)["image"].as_str(), Some(image), "{m}");
        assert_eq!(env(&job, "STAGE"), "run by hand", "{m}");
        // ... and no stage lists it or holds one.
        for s in stage_folders(&t, m) {
            let dir = format!("deploy/{m}/stages/{s}");
            let listed = resources(&t, &format!("{dir}/kustomization.yaml"));
            assert!(
                !listed.iter().any(|r| r.contains("verify")),
                "{dir}: {listed:?}"
            );
            assert!(!t.exists(&format!("{dir}/verify-job.yaml")), "{dir}");
        }
    }
    // 4 x (3 stages x 2 files + the Job's 2) + the GCPBackend's 2.
    t.args(["check"])
        .stdout("ok: 34 generated files up to date\n")
        .run();
}

// --- what the Job does ---------------------------------------------------------------------

#[test]
fn both_urls_follow_scheme_port_path_and_first_host() {
    // (migration, verify settings, hosts, the client URL, the GCPBackend URL)
    let cases = [
        (
            "defaults",
            "",
            None,
            "http://defaults-se.example.com/",
            "http://defaults-gcp.example.com/",
        ),
        (
            "https-port-path",
            "scheme: https, port: 8443, path: /healthz",
            None,
            "https://https-port-path-se.example.com:8443/healthz",
            "https://https-port-path-gcp.example.com:8443/healthz",
        ),
        (
            "https-only",
            "scheme: https",
            None,
            "https://https-only-se.example.com/",
            "https://https-only-gcp.example.com/",
        ),
        (
            "http-port",
            "scheme: http, port: 8080",
            None,
            "http://http-port-se.example.com:8080/",
            "http://http-port-gcp.example.com:8080/",
        ),
        (
            "path-query",
            "path: \"/ready?full=1\"",
            None,
            "http://path-query-se.example.com/ready?full=1",
            "http://path-query-gcp.example.com/ready?full=1",
        ),
        (
            "first-host",
            "port: 81",
            Some("[api.example.com, first-host-se.example.com]"),
            "http://api.example.com:81/",
            "http://first-host-gcp.example.com:81/",
        ),
    ];
    for every_stage in [false, true] {
        let mut plan = String::from("version: 1\noutput: deploy\nmigrations:\n");
        for (name, verify, hosts, _, _) in &cases {
            let sep = if verify.is_empty() { "" } else { ", " };
            plan.push_str(&format!(
                "  - name: {name}\n    namespace: shop\n    from: {name}-se.example.com\n    \
                 to: {name}-gcp.example.com\n    verify: {{{verify}{sep}everyStage: {every_stage}}}\n    \
                 stages: [{{weight: 100}}]\n"
            ));
            if let Some(h) = hosts {
                plan.push_str(&format!("    hosts: {h}\n"));
            }
        }
        let t = rendered(&plan);
        for (name, _, _, client, backend) in cases {
            let path = if every_stage {
                format!("deploy/{name}/stages/01-weight-100/verify-job.yaml")
            } else {
                format!("deploy/{name}/verify/job.yaml")
            };
            let job = yaml(&t, &path);
            assert_eq!(env(&job, "CLIENT_URL"), client, "{path}");
            assert_eq!(env(&job, "BACKEND_URL"), backend, "{path}");
        }
        t.args(["check"]).any_stdout().run();
    }
}

#[test]
fn requests_wait_and_the_deadline_bound_the_job() {
    // (verify settings, REQUESTS, WAIT_SECONDS, activeDeadlineSeconds: 60 for the proxy,
    // the wait, every request at its 10 seconds, 60 to spare)
    let cases = [
        ("", "10", "10", 60 + 10 + 2 * 10 * 10 + 60),
        ("requests: 1, waitSeconds: 0", "1", "0", 60 + 2 * 10 + 60),
        ("requests: 3", "3", "10", 60 + 10 + 2 * 3 * 10 + 60),
        (
            "requests: 100, waitSeconds: 600",
            "100",
            "600",
            60 + 600 + 2 * 100 * 10 + 60,
        ),
    ];
    let mut plan = String::from("version: 1\noutput: deploy\nmigrations:\n");
    for (i, (verify, _, _, _)) in cases.iter().enumerate() {
        let sep = if verify.is_empty() { "" } else { ", " };
        plan.push_str(&format!(
            "  - name: m{i}\n    namespace: shop\n    from: m{i}-se.example.com\n    \
             to: m{i}-gcp.example.com\n    verify: {{{verify}{sep}everyStage: true}}\n    \
             stages: [{{weight: 10}}, {{weight: 100}}]\n"
        ));
    }
    let t = rendered(&plan);
    for (i, (verify, requests, wait, deadline)) in cases.into_iter().enumerate() {
        for (stage, job) in stage_jobs(&t, &format!("m{i}")) {
            let what = format!("{verify:?} {stage}");
            assert_eq!(env(&job, "REQUESTS"), requests, "{what}");
            assert_eq!(env(&job, "WAIT_SECONDS"), wait, "{what}");
            assert_eq!(env(&job, "REQUEST_SECONDS"), "10", "{what}");
            assert_eq!(env(&job, "PROXY_SECONDS"), "60", "{what}");
            let spec = &job["spec"];
            assert_eq!(spec["backoffLimit"].as_u64(), Some(0), "{what}");
            assert_eq!(
                spec["activeDeadlineSeconds"].as_u64(),
                Some(deadline),
                "{what}"
            );
            // No TTL: a GitOps tool would create a deleted Job again.
            assert!(spec.get("ttlSecondsAfterFinished").is_none(), "{what}");
            let pod = &spec["template"]["spec"];
            assert_eq!(pod["restartPolicy"].as_str(), Some("Never"), "{what}");
            assert_eq!(
                container(&job)["image"].as_str(),
                Some("curlimages/curl:8.11.1")
            );
            assert_eq!(
                spec["template"]["metadata"]["labels"]["sidecar.istio.io/inject"].as_str(),
                Some("true"),
                "{what}"
            );
        }
    }
}

#[test]
fn gitops_decides_the_annotations() {
    let sync_wave = map(&[("argocd.argoproj.io/sync-wave", "1")]);
    let post_sync = map(&[
        ("argocd.argoproj.io/hook", "PostSync"),
        (
            "argocd.argoproj.io/hook-delete-policy",
            "BeforeHookCreation",
        ),
    ]);
    let force = map(&[("kustomize.toolkit.fluxcd.io/force", "enabled")]);
    let cases = [
        ("unset", "", &sync_wave),
        ("none", ", gitops: none", &sync_wave),
        ("argocd", ", gitops: argocd", &post_sync),
        ("flux", ", gitops: flux", &force),
    ];
    for every_stage in [true, false] {
        let mut plan = String::from("version: 1\noutput: deploy\nmigrations:\n");
        for (m, gitops, _) in &cases {
            plan.push_str(&format!(
                "  - name: {m}\n    namespace: shop\n    from: {m}-se.example.com\n    \
                 to: {m}-gcp.example.com\n    verify: {{everyStage: {every_stage}{gitops}}}\n    \
                 stages: [{{weight: 10}}, {{weight: 100}}]\n"
            ));
        }
        let t = rendered(&plan);
        for (m, _, want) in cases {
            let jobs = if every_stage {
                stage_jobs(&t, m)
            } else {
                vec![(
                    "by hand".to_owned(),
                    yaml(&t, &format!("deploy/{m}/verify/job.yaml")),
                )]
            };
            for (stage, job) in jobs {
                assert_eq!(&annotations(&job), want, "{m} {stage}");
            }
        }
    }
}

/// Plan values reach the script through its environment only: every Job runs the same
/// script, whatever its URLs, and a path that a shell would expand stays as it is.
#[test]
fn no_plan_value_is_spliced_into_the_command() {
    let hostile = "/probe?x=$(id)&y=`uname`;z='q'\"";
    let plan = format!(
        r#"version: 1
output: deploy
defaults:
  namespace: shop
  stages: [{{weight: 10}}, {{weight: 100}}]
migrations:
  - name: orders
    from: orders-se.example.com
    to: orders-gcp.example.com
    verify: {{path: '{}', everyStage: true, requests: 7}}
  - name: ledger
    from: ledger-se.example.com
    to: ledger-gcp.example.com
    verify: {{scheme: https, port: 8443}}
"#,
        hostile.replace('\'', "''")
    );
    let t = rendered(&plan);
    let mut jobs: Vec<Value> = stage_jobs(&t, "orders")
        .into_iter()
        .map(|(_, j)| j)
        .collect();
    jobs.push(yaml(&t, "deploy/ledger/verify/job.yaml"));
    let first = script(&jobs[0]);
    assert!(first.contains("\"$CLIENT_URL\""), "{first}");
    assert!(first.contains("\"$BACKEND_URL\""), "{first}");
    for job in &jobs {
        let s = script(job);
        assert_eq!(s, first, "{}: another script", name(job));
        for value in [env(job, "CLIENT_URL"), env(job, "BACKEND_URL")] {
            assert!(!s.contains(&value), "{value} in the script");
        }
        for text in [
            "example.com",
            "probe",
            "8443",
            "orders",
            "ledger",
            "Authorization",
        ] {
            assert!(!s.contains(text), "{text} in the script");
        }
    }
    assert_eq!(
        env(&jobs[0], "CLIENT_URL"),
        format!("http://orders-se.example.com{hostile}")
    );
    assert_eq!(
        env(&jobs[0], "BACKEND_URL"),
        format!("http://orders-gcp.example.com{hostile}")
    );
    t.args(["check"]).any_stdout().run();
}

// --- refusals ------------------------------------------------------------------------------

/// Settings the plan may not give (the messages: `fixtures/invalid/<case>/expected/`):
/// (case, the text that breaks it, a text that does not, the field, line:column).
const REFUSED: [(&str, &str, &str, &str, &str); 10] = [
    (
        "verify-every-stage-flat",
        "layout: flat",
        "layout: kustomize",
        "migrations[0].verify.everyStage",
        "11:19",
    ),
    (
        "verify-image-unpinned",
        "/tools/curl\n",
        "/tools/curl:8.11.1\n",
        "migrations[0].verify.image",
        "10:14",
    ),
    (
        "verify-image-latest",
        "curl:latest",
        "curl:8.11.1",
        "migrations[0].verify.image",
        "9:14",
    ),
    (
        "verify-requests-zero",
        "requests: 0",
        "requests: 1",
        "migrations[0].verify.requests",
        "9:17",
    ),
    (
        "verify-requests-too-many",
        "requests: 101",
        "requests: 100",
        "migrations[0].verify.requests",
        "8:42",
    ),
    (
        "verify-wait-too-long",
        "waitSeconds: 601",
        "waitSeconds: 600",
        "migrations[0].verify.waitSeconds",
        "9:20",
    ),
    (
        "verify-gitops-unknown",
        "gitops: ArgoCD",
        "gitops: argocd",
        "migrations[0].verify.gitops",
        "10:15",
    ),
    (
        "verify-name-too-long-every-stage",
        "too-long-xx-53",
        "too-long-x-52",
        "migrations[0].verify.name",
        "11:13",
    ),
    (
        "verify-image-uppercase",
        "curlimages/Curl:8.11.1",
        "curlimages/curl:8.11.1",
        "migrations[0].verify.image",
        "9:14",
    ),
    (
        "verify-name-shared",
        "namespace: shop        #",
        "namespace: books       #",
        "migrations[1].verify.name",
        "11:11",
    ),
];

/// Each refused setting names its field and place, exits 2, and leaves the tree an
/// earlier render wrote (of the plan without the fault) as it was.
#[test]
fn refused_settings_name_the_field_and_write_nothing() {
    for (case, bad, good, field, at) in REFUSED {
        let plan = std::fs::read_to_string(
            fixtures()
                .join("invalid")
                .join(case)
                .join("input/plan.yaml"),
        )
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(plan.contains(bad), "{case}: no {bad:?}");
        let t = rendered(&plan.replace(bad, good));
        t.args(["check"]).any_stdout().run();
        t.write("cutover.yaml", &plan);
        let before = t.tree();
        for command in ["validate", "render", "check"] {
            t.args(["--color", "never", command, "cutover.yaml"])
                .status(2)
                .stderr_contains(format!("error: {field}: "))
                .stderr_contains(format!("--> cutover.yaml:{at}\n"))
                .run();
        }
        t.args(["--color", "never", "render", "cutover.yaml"])
            .status(2)
            .stderr_contains("nothing was written")
            .run();
        assert_unchanged(&before, &t.tree());
    }
}

// --- switching everyStage --------------------------------------------------------------------

/// Switching `everyStage` on removes the `verify/` folder an earlier render wrote, and
/// switching it off removes the stage Jobs; `check` passes after each render.
#[test]
fn switching_every_stage_moves_the_job_and_leaves_nothing_behind() {
    let by_hand = EVERY_STAGE.replace(", everyStage: true}", "}");
    let t = rendered(&by_hand);
    assert!(t.exists("deploy/orders/verify/job.yaml"));
    assert!(t.exists("deploy/ledger/verify/kustomization.yaml"));
    t.args(["check"])
        .stdout("ok: 18 generated files up to date\n")
        .run();

    t.write("cutover.yaml", EVERY_STAGE);
    t.args(["render", "cutover.yaml"])
        .stdout("orders: 8 written, 6 unchanged, 2 removed (cutover.yaml)\nledger: 4 written, 2 unchanged, 2 removed (cutover.yaml)\n")
        .run();
    for m in ["orders", "ledger"] {
        assert!(
            !t.exists(&format!("deploy/{m}/verify")),
            "{m}/verify is left"
        );
        for s in stage_folders(&t, m) {
            assert!(t.exists(&format!("deploy/{m}/stages/{s}/verify-job.yaml")));
        }
    }
    t.args(["check"])
        .stdout("ok: 20 generated files up to date\n")
        .run();

    t.write("cutover.yaml", &by_hand);
    t.args(["render", "cutover.yaml"])
        .stdout("orders: 6 written, 6 unchanged, 4 removed (cutover.yaml)\nledger: 4 written, 2 unchanged, 2 removed (cutover.yaml)\n")
        .run();
    for m in ["orders", "ledger"] {
        assert!(t.exists(&format!("deploy/{m}/verify/job.yaml")));
        for s in stage_folders(&t, m) {
            assert!(!t.exists(&format!("deploy/{m}/stages/{s}/verify-job.yaml")));
        }
    }
    t.args(["check"])
        .stdout("ok: 18 generated files up to date\n")
        .run();
}
