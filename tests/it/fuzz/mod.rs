//! Fuzzing on stable Rust: seed files of every format mclcr reads, and the parts of a model,
//! mutated (`mutate`) and run through the product code (`target`), every input inside
//! `catch_unwind`. A panicking input is saved to `tests/fixtures/fuzz/` and replayed by
//! [`saved_fuzz_inputs_replay_without_panic`] from then on; an input that runs for longer than
//! `MCLCR_FUZZ_HANG_SECS` (30) is saved as `hang-…` and the run stops.
//!
//! A short run is part of the suite. The long one is ignored; its size and seed come from the
//! environment:
//!
//! ```sh
//! MCLCR_FUZZ_INPUTS=1000000 MCLCR_FUZZ_SEED=15 nice cargo test --release --test it \
//!     -- --ignored fuzz::long_fuzz_run --nocapture
//! ```
//!
//! Input `i` of a run is mutated with `Rng::derive(seed, i)`, so any input can be made again,
//! and `MCLCR_FUZZ_FIRST` starts a run at input `i` (one run can be split between processes).

mod mutate;
mod seeds;
mod target;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mclcr::rng::Rng;

use seeds::Seed;
use target::{Kind, Target};

/// One input in this many is a model file (alternately its manifest and its weights): a model
/// load costs about as much as a hundred image inputs.
const MODEL_EVERY: u64 = 64;

/// The thread the fuzz loop runs on; the panic hook keeps its panics quiet.
const THREAD: &str = "mclcr-fuzz";

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records panics of the fuzz thread instead of printing them; other threads' panics go to the
/// hook that was there before.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(THREAD) {
                let payload = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let place = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{payload} at {place}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// Where crashers are saved and replayed from.
fn saved_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// Saves an input as a regression fixture; returns its path.
fn save(prefix: &str, seed: &str, kind: Kind, bytes: &[u8]) -> PathBuf {
    let stem = seed.replace('.', "_");
    let name = format!("{prefix}-{stem}-{:016x}.{}", fnv1a(bytes), kind.extension());
    let path = saved_dir().join(name);
    if let Err(e) = std::fs::write(&path, bytes) {
        eprintln!("fuzz: cannot save {}: {e}", path.display());
    }
    path
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// What a run found.
#[derive(Debug, Default)]
struct Stats {
    inputs: u64,
    by_kind: [u64; 3],
    errors: u64,
    faces_found: u64,
    panics: Vec<(String, PathBuf)>,
    slowest: Duration,
    slowest_what: String,
    elapsed: Duration,
    peak_kib: u64,
}

impl Stats {
    fn report(&self, seed: u64) -> String {
        let rate = self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9);
        let mut out = format!(
            "fuzz report (seed {seed}): {} inputs ({} images, {} manifests, {} weights) in {:.1} s, {rate:.0} inputs/s\n  \
             rejected with an error: {}, faces found: {}\n  \
             crashes: 0 (the run finished), panics caught: {}\n  \
             slowest input: {:.1} ms ({})\n  \
             peak memory (VmHWM): {:.1} MiB\n",
            self.inputs,
            self.by_kind[0],
            self.by_kind[1],
            self.by_kind[2],
            self.elapsed.as_secs_f64(),
            self.errors,
            self.faces_found,
            self.panics.len(),
            self.slowest.as_secs_f64() * 1e3,
            self.slowest_what,
            self.peak_kib as f64 / 1024.0,
        );
        for (message, path) in &self.panics {
            out.push_str(&format!("  panic: {message} → {}\n", path.display()));
        }
        out
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Runs mutants `first..first + inputs` of `seed` on the fuzz thread; progress lines every
/// `every` inputs.
fn fuzz(first: u64, inputs: u64, seed: u64, every: u64) -> Stats {
    install_panic_hook();
    std::thread::Builder::new()
        .name(THREAD.into())
        .spawn(move || fuzz_loop(first, inputs, seed, every))
        .expect("fuzz thread")
        .join()
        .expect("the fuzz loop itself does not panic")
}

/// Stops the process when one input runs for too long, saving it first.
/// `started` holds when the current input began (ms on `clock`, plus one; 0 between inputs),
/// `kind` the index of its kind in `files`.
fn watchdog(
    started: Arc<AtomicU64>,
    kind: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    clock: Instant,
    files: [PathBuf; 3],
) {
    let limit = env_u64("MCLCR_FUZZ_HANG_SECS", 30) * 1000;
    std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(500));
            let at = started.load(Ordering::Relaxed);
            let now = clock.elapsed().as_millis() as u64;
            if at != 0 && now.saturating_sub(at) > limit {
                let current = &files[kind.load(Ordering::Relaxed) as usize % 3];
                let bytes = std::fs::read(current).unwrap_or_default();
                let kind = Kind::of(current).unwrap_or(Kind::Image);
                let path = save("hang", "input", kind, &bytes);
                eprintln!(
                    "fuzz: an input ran for over {} s; saved to {}",
                    limit / 1000,
                    path.display()
                );
                std::process::exit(3);
            }
        }
    });
}

fn fuzz_loop(first: u64, inputs: u64, seed: u64, every: u64) -> Stats {
    let images = seeds::image_seeds();
    let (manifest, weights) = seeds::model_seeds();
    let mut target = Target::new(&manifest.bytes, &weights.bytes);
    let clock = Instant::now();
    let started = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let current_kind = Arc::new(AtomicU64::new(0));
    watchdog(
        started.clone(),
        current_kind.clone(),
        done.clone(),
        clock,
        [Kind::Image, Kind::Manifest, Kind::Weights].map(|k| target.input_path(k)),
    );
    let mut stats = Stats::default();
    for i in first..first + inputs {
        let mut rng = Rng::derive(seed, i);
        let (kind, chosen, other): (Kind, &Seed, &Seed) = if i % MODEL_EVERY == MODEL_EVERY - 1 {
            if (i / MODEL_EVERY).is_multiple_of(2) {
                (Kind::Manifest, &manifest, &manifest)
            } else {
                (Kind::Weights, &weights, &weights)
            }
        } else {
            let pick = |rng: &mut Rng| &images[rng.int(0, images.len() as i64 - 1) as usize];
            let chosen = pick(&mut rng);
            (Kind::Image, chosen, pick(&mut rng))
        };
        let bytes = mutate::mutate(&mut rng, chosen.form, &chosen.bytes, &other.bytes);
        current_kind.store(kind as u64, Ordering::Relaxed);
        let t0 = Instant::now();
        started.store(clock.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| target.run(kind, &bytes)));
        started.store(0, Ordering::Relaxed);
        let took = t0.elapsed();
        stats.inputs += 1;
        stats.by_kind[kind as usize] += 1;
        if took > stats.slowest {
            stats.slowest = took;
            stats.slowest_what = format!(
                "input #{i}, {kind:?} from {}, {} bytes",
                chosen.name,
                bytes.len()
            );
        }
        match outcome {
            Ok(Ok(faces)) => stats.faces_found += faces as u64,
            Ok(Err(_)) => stats.errors += 1,
            Err(_) => {
                let message = LAST_PANIC
                    .with(|p| p.borrow_mut().take())
                    .unwrap_or_default();
                let path = save("panic", chosen.name, kind, &bytes);
                eprintln!(
                    "fuzz: input #{i} panicked: {message}; saved to {}",
                    path.display()
                );
                stats.panics.push((message, path));
                // The finder may be left half-way; start it again.
                target.reset();
            }
        }
        if every > 0 && stats.inputs.is_multiple_of(every) {
            let secs = clock.elapsed().as_secs_f64();
            eprintln!(
                "fuzz: {}/{inputs} inputs (up to #{i}), {:.0}/s, panics {}, slowest {:.1} ms, VmHWM {} MiB",
                stats.inputs,
                stats.inputs as f64 / secs.max(1e-9),
                stats.panics.len(),
                stats.slowest.as_secs_f64() * 1e3,
                peak_kib() / 1024
            );
        }
    }
    done.store(true, Ordering::Relaxed);
    stats.elapsed = clock.elapsed();
    stats.peak_kib = peak_kib();
    stats
}

#[test]
fn every_seed_is_read_and_one_has_a_face() {
    let (manifest, weights) = seeds::model_seeds();
    let mut target = Target::new(&manifest.bytes, &weights.bytes);
    let mut faces = 0;
    for seed in seeds::image_seeds() {
        match target.run(Kind::Image, &seed.bytes) {
            Ok(n) => faces += n,
            Err(e) => panic!("seed {} does not decode: {e}", seed.name),
        }
    }
    assert!(
        faces > 0,
        "no seed shows a face: detection and crops go untested"
    );
    target
        .run(Kind::Manifest, &manifest.bytes)
        .expect("seed manifest loads");
    target
        .run(Kind::Weights, &weights.bytes)
        .expect("seed weights load");
}

#[test]
fn a_short_fuzz_run_panics_nowhere() {
    let inputs = env_u64("MCLCR_FUZZ_SHORT_INPUTS", 2_000);
    let stats = fuzz(0, inputs, 15, 0);
    println!("{}", stats.report(15));
    assert!(stats.panics.is_empty(), "{}", stats.report(15));
}

#[test]
#[ignore = "long: MCLCR_FUZZ_INPUTS (1,000,000) inputs, about 40 min of one core"]
fn long_fuzz_run() {
    let inputs = env_u64("MCLCR_FUZZ_INPUTS", 1_000_000);
    let seed = env_u64("MCLCR_FUZZ_SEED", 15);
    let first = env_u64("MCLCR_FUZZ_FIRST", 0);
    let stats = fuzz(first, inputs, seed, env_u64("MCLCR_FUZZ_PROGRESS", 10_000));
    println!("{}", stats.report(seed));
    assert!(stats.panics.is_empty(), "{}", stats.report(seed));
}

#[test]
fn saved_fuzz_inputs_replay_without_panic() {
    let (manifest, weights) = seeds::model_seeds();
    let mut target = Target::new(&manifest.bytes, &weights.bytes);
    let mut saved: Vec<PathBuf> = std::fs::read_dir(saved_dir())
        .expect("tests/fixtures/fuzz")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && Kind::of(p).is_some())
        .collect();
    saved.sort();
    for path in saved {
        let kind = Kind::of(&path).expect("filtered");
        let bytes = std::fs::read(&path).expect("saved input");
        // Any answer but a panic (or a hang) will do: most are errors for the user.
        let _ = target.run(kind, &bytes);
    }
}
