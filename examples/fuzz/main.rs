//! The fuzz harness: generated plans and base VirtualServices run in-process through the
//! library, every case checked by the oracles of `oracles.rs`.
//!
//! ```sh
//! cargo run --release --example fuzz -- --cases 1000000 --seed 1         # a long run
//! cargo run --example fuzz -- --cases 60000 --seconds 90 --seed 1       # CI (.ci/run)
//! cargo run --release --example fuzz -- --replay target/fuzz-findings/06-panic
//! ```
//!
//! Case `i` of a seed is always the same input (see `gen.rs`), whatever the number of
//! threads. The run prints its cases, throughput and findings, deduplicated by oracle and
//! message (values blanked), each with its smallest input reduced further
//! (`reduce.rs`) and written to `target/fuzz-findings/NN-oracle/` (the plan as
//! `cutover.yaml`, a base beside it, `finding.txt`), and exits 1 when there is a finding.
//! A case running longer than `--hang` seconds stops the run at once with that case.
//!
//! A seeded loop on stable Rust rather than cargo-fuzz (which needs a nightly toolchain):
//! the inputs are structured (a plan and its base files) and every finding replays from
//! its seed and case number, on any machine.

mod case;
mod gen;
mod oracles;
mod pools;
mod readers;
mod reduce;
mod shares;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use cutover::render::Templates;

use case::{Case, FINDING};
use gen::{Seeds, FAMILIES};
use oracles::{Finding, Outcome};

/// Fuzz cutover's plan reader, renderer and editor in-process.
#[derive(Debug, Parser)]
#[command(name = "fuzz")]
struct Args {
    /// How many cases to run.
    #[arg(long, default_value_t = 100_000)]
    cases: u64,
    /// Stop after this many seconds even if not all cases ran.
    #[arg(long)]
    seconds: Option<u64>,
    /// The run's seed: case `i` of a seed is always the same input.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Only this generator family: plan-bytes, plan-structure or base.
    #[arg(long)]
    family: Option<String>,
    /// Folder the findings are written to (emptied first).
    #[arg(long)]
    findings: Option<PathBuf>,
    /// More folders of real-world VirtualServices for the base family.
    #[arg(long)]
    corpus: Vec<PathBuf>,
    /// Run the oracles on one case folder (a plan `cutover.yaml` and its files) and exit.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// Most candidate inputs tried when reducing one finding.
    #[arg(long, default_value_t = 3000)]
    reduce_budget: usize,
    /// A case taking longer than this many seconds is a finding.
    #[arg(long, default_value_t = 2.0)]
    slow: f64,
    /// A case taking longer than this many seconds stops the run (a hang).
    #[arg(long, default_value_t = 60)]
    hang: u64,
}

const REPO: &str = env!("CARGO_MANIFEST_DIR");

thread_local! {
    /// The last panic of this thread, with its location (set by the panic hook).
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs every oracle on `case`, panics and time included.
fn run_one(case: &Case, templates: &Templates, slow: f64) -> (Outcome, Vec<Finding>) {
    let start = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        oracles::run(case, templates)
    }));
    let elapsed = start.elapsed().as_secs_f64();
    let (outcome, mut found) = result.unwrap_or_else(|payload| {
        let message = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned())
        });
        (
            Outcome::default(),
            vec![Finding {
                oracle: "panic",
                message,
            }],
        )
    });
    if elapsed > slow {
        found.push(Finding {
            oracle: "slow",
            message: format!("a case took {elapsed:.1} s, over the {slow} s limit"),
        });
    }
    // One finding of each kind per case.
    let mut keys = Vec::new();
    found.retain(|f| {
        let k = f.key();
        let new = !keys.contains(&k);
        keys.push(k);
        new
    });
    (outcome, found)
}

/// One distinct finding: how often it was seen and its smallest input.
struct Record {
    finding: Finding,
    hits: u64,
    index: u64,
    family: usize,
    case: Case,
}

#[derive(Default)]
struct Stats {
    cases: [u64; 3],
    valid: [u64; 3],
    rendered: [u64; 3],
}

struct Shared {
    next: AtomicU64,
    stop: AtomicBool,
    found: Mutex<BTreeMap<String, Record>>,
    stats: Mutex<Stats>,
    /// What each worker runs now: (since, case index).
    current: Vec<Mutex<Option<(Instant, u64)>>>,
}

fn family_index(name: &str) -> Option<usize> {
    FAMILIES.iter().position(|f| *f == name)
}

fn worker(w: usize, args: &Args, seeds: &Seeds, only: Option<usize>, shared: &Shared) {
    let Ok(templates) = Templates::builtin() else {
        return;
    };
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        if i >= args.cases || shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let (family, case) = gen::case(seeds, args.seed, i, only);
        *lock(&shared.current[w]) = Some((Instant::now(), i));
        let (outcome, found) = run_one(&case, &templates, args.slow);
        *lock(&shared.current[w]) = None;
        {
            let mut s = lock(&shared.stats);
            s.cases[family] += 1;
            s.valid[family] += u64::from(outcome.valid);
            s.rendered[family] += u64::from(outcome.rendered);
        }
        if found.is_empty() {
            continue;
        }
        let mut all = lock(&shared.found);
        for f in found {
            let rec = all.entry(f.key()).or_insert_with(|| Record {
                finding: f.clone(),
                hits: 0,
                index: i,
                family,
                case: case.clone(),
            });
            rec.hits += 1;
            if (case.size(), i) < (rec.case.size(), rec.index) {
                rec.finding = f;
                rec.index = i;
                rec.family = family;
                rec.case = case.clone();
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn main() -> ExitCode {
    let args = Args::parse();
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{at}")));
    }));
    if let Some(dir) = &args.replay {
        return replay(dir, &args);
    }
    let only = match args.family.as_deref().map(|f| (f, family_index(f))) {
        Some((_, Some(i))) => Some(i),
        Some((f, None)) => {
            eprintln!("unknown family `{f}`; one of {}", FAMILIES.join(", "));
            return ExitCode::from(2);
        }
        None => None,
    };
    let corpora: Vec<PathBuf> =
        std::iter::once(Path::new(REPO).join("../shared/corpus/virtualservices"))
            .chain(args.corpus.iter().cloned())
            .collect();
    let seeds = Seeds::load(Path::new(REPO), &corpora);
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    println!(
        "cutover fuzz: seed {}, up to {} cases{}, {jobs} thread(s); seeds: {}",
        args.seed,
        args.cases,
        args.seconds
            .map(|s| format!(" or {s} s"))
            .unwrap_or_default(),
        seeds.sources.join(", ")
    );
    let shared = Shared {
        next: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        found: Mutex::new(BTreeMap::new()),
        stats: Mutex::new(Stats::default()),
        current: (0..jobs).map(|_| Mutex::new(None)).collect(),
    };
    let start = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|w| {
                let (args, seeds, shared) = (&args, &seeds, &shared);
                scope.spawn(move || worker(w, args, seeds, only, shared))
            })
            .collect();
        watch(&args, &seeds, only, &shared, start, &handles);
    });
    let elapsed = start.elapsed().as_secs_f64();
    report(&args, &seeds, shared, elapsed)
}

/// Progress every 10 s; the time budget; a case over `--hang` seconds ends the run.
fn watch(
    args: &Args,
    seeds: &Seeds,
    only: Option<usize>,
    shared: &Shared,
    start: Instant,
    handles: &[std::thread::ScopedJoinHandle<'_, ()>],
) {
    let mut last = Instant::now();
    while !handles
        .iter()
        .all(std::thread::ScopedJoinHandle::is_finished)
    {
        std::thread::sleep(Duration::from_millis(100));
        if args
            .seconds
            .is_some_and(|s| start.elapsed() >= Duration::from_secs(s))
        {
            shared.stop.store(true, Ordering::Relaxed);
        }
        for cur in &shared.current {
            let Some((since, i)) = *lock(cur) else {
                continue;
            };
            if since.elapsed() >= Duration::from_secs(args.hang) {
                let (_, case) = gen::case(seeds, args.seed, i, only);
                println!(
                    "HANG: case {i} of seed {} has run for {} s; its input:\n{}",
                    args.seed,
                    args.hang,
                    case.show()
                );
                let dir = findings_dir(args).join("00-hang");
                let _ = std::fs::create_dir_all(&dir).and_then(|()| case.save(&dir));
                std::process::exit(1);
            }
        }
        if last.elapsed() >= Duration::from_secs(10) {
            last = Instant::now();
            let done: u64 = lock(&shared.stats).cases.iter().sum();
            let secs = start.elapsed().as_secs_f64();
            eprintln!(
                "[{secs:6.0} s] {done} cases, {:.0} cases/s, {} distinct findings",
                done as f64 / secs,
                lock(&shared.found).len()
            );
        }
    }
}

fn findings_dir(args: &Args) -> PathBuf {
    args.findings
        .clone()
        .unwrap_or_else(|| Path::new(REPO).join("target/fuzz-findings"))
}

fn report(args: &Args, seeds: &Seeds, shared: Shared, elapsed: f64) -> ExitCode {
    let stats = shared
        .stats
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let found = shared
        .found
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let total: u64 = stats.cases.iter().sum();
    println!(
        "cases: {total} in {elapsed:.1} s: {:.0} cases/s",
        total as f64 / elapsed.max(1e-9)
    );
    for (f, name) in FAMILIES.iter().enumerate() {
        let pct = |n: u64| 100.0 * n as f64 / stats.cases[f].max(1) as f64;
        println!(
            "  {name:<15} {:>9} cases: {:5.1}% valid plans, {:5.1}% rendered",
            stats.cases[f],
            pct(stats.valid[f]),
            pct(stats.rendered[f])
        );
    }
    let hits: u64 = found.values().map(|r| r.hits).sum();
    println!("findings: {} distinct ({hits} hits)", found.len());
    if found.is_empty() {
        return ExitCode::SUCCESS;
    }
    let dir = findings_dir(args);
    let _ = std::fs::remove_dir_all(&dir);
    let Ok(templates) = Templates::builtin() else {
        return ExitCode::FAILURE;
    };
    for (n, (key, rec)) in found.iter().enumerate() {
        let reduced = if rec.finding.oracle == "slow" {
            rec.case.clone()
        } else {
            reduce::reduce(&rec.case, args.reduce_budget, |c| {
                run_one(c, &templates, f64::INFINITY)
                    .1
                    .iter()
                    .any(|f| &f.key() == key)
            })
        };
        let folder = dir.join(format!("{:02}-{}", n + 1, rec.finding.oracle));
        let summary = format!(
            "[{}] {}: {}\n    {} hits; smallest at case {} of seed {} ({}, {} bytes), reduced to {} bytes\n    key: {key}\n",
            n + 1,
            rec.finding.oracle,
            rec.finding.message,
            rec.hits,
            rec.index,
            args.seed,
            FAMILIES[rec.family],
            rec.case.size(),
            reduced.size(),
        );
        let saved = std::fs::create_dir_all(&folder)
            .and_then(|()| reduced.save(&folder))
            .and_then(|()| std::fs::write(folder.join(FINDING), &summary));
        print!("{summary}");
        match saved {
            Ok(()) => println!("    reduced input ({}):", folder.display()),
            Err(e) => println!("    reduced input (not saved: {e}):"),
        }
        print!("{}", reduced.show());
    }
    let _ = seeds;
    ExitCode::FAILURE
}

fn replay(dir: &Path, args: &Args) -> ExitCode {
    let case = match Case::load(dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot read the case in {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    };
    let Ok(templates) = Templates::builtin() else {
        return ExitCode::FAILURE;
    };
    let (outcome, found) = run_one(&case, &templates, args.slow);
    println!(
        "{}: valid plan: {}, rendered: {}, findings: {}",
        dir.display(),
        outcome.valid,
        outcome.rendered,
        found.len()
    );
    for f in &found {
        println!("  {}: {}", f.oracle, f.message);
    }
    if found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
