//! Micro-benchmarks of the in-memory steps of a render (no file system):
//!
//! - `parse/100-migrations`: `Plan::parse` of a plan with 100 migrations × 5 stages
//!   (the bench/run.sh workload, 8 KiB of YAML);
//! - `render/1-migration`: `render::render_plan` of a 1-migration plan (10 files: 5
//!   VirtualServices and 5 kustomizations, each parsed back, verified and schema-checked);
//! - `check/istio-virtual-service`: `check::istio::virtual_service` (CRD schema and Istio rules) of
//!   one rendered VirtualService.
//!
//! Run: `cargo bench --bench plan` (or `-- --quick` for a short run). See bench/README.md.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use cutover::check::istio;
use cutover::render::{render_plan, Templates};
use cutover::Plan;

const ROOT: &str = "/bench-repo";
const PLAN_PATH: &str = "/bench-repo/cutover.yaml";

/// The bench/run.sh workload: `n` migrations × 5 stages, kustomize layout.
fn plan_yaml(n: usize) -> String {
    let mut s = String::from(
        "version: 1\noutput: deploy\nlayout: kustomize\napiVersion: networking.istio.io/v1\n\
         defaults:\n  namespace: bench\n  gateways: [mesh]\n  stages:\n    - mirror: 100\n\
         \x20   - weight: 10\n    - weight: 25\n    - weight: 50\n    - weight: 100\nmigrations:\n",
    );
    for i in 1..=n {
        s.push_str(&format!(
            "  - name: svc-{i:05}\n    from: svc-{i:05}-se.example.com\n    to: svc-{i:05}-gcp.example.com\n"
        ));
    }
    s
}

fn parse(yaml: &str) -> Plan {
    Plan::parse(
        "cutover.yaml",
        yaml.as_bytes(),
        Path::new(PLAN_PATH),
        Path::new(ROOT),
    )
    .expect("the benchmark plan is valid")
}

fn benches(c: &mut Criterion) {
    let big = plan_yaml(100);
    c.bench_function("parse/100-migrations", |b| {
        b.iter(|| parse(black_box(&big)))
    });

    let one = parse(&plan_yaml(1));
    let templates = Templates::builtin().expect("the built-in templates compile");
    let files = render_plan(&one, &templates).expect("the benchmark plan renders");
    assert_eq!(
        files.len(),
        10,
        "5 stages × (virtualservice + kustomization)"
    );
    c.bench_function("render/1-migration", |b| {
        b.iter(|| render_plan(black_box(&one), &templates).expect("renders"))
    });

    let vs = files
        .iter()
        .find(|f| f.rel.ends_with("02-weight-10/virtualservice.yaml"))
        .expect("the 10% stage is rendered");
    let doc: serde_json::Value =
        serde_yaml::from_str(&vs.contents).expect("a rendered VirtualService is YAML");
    assert!(istio::virtual_service(&doc).is_empty());
    c.bench_function("check/istio-virtual-service", |b| {
        b.iter(|| istio::virtual_service(black_box(&doc)))
    });
}

criterion_group! {
    name = plan;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = benches
}
criterion_main!(plan);
