//! The desktop app driven through egui_kittest: the real `MclcrApp`, its worker threads and
//! models, with no window. Files are dropped as a window system would drop them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use mclcr::analysis::verdict::Band;
use mclcr::app::jobs::PickPurpose;
use mclcr::app::state::AppState;
use mclcr::app::{MclcrApp, ModelStatus};
use mclcr::device::DeviceChoice;

#[derive(Debug)]
struct Dropped(PathBuf);

impl eframe::egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples")
}

fn app(state: AppState) -> Harness<'static, MclcrApp> {
    let state = AppState {
        device: DeviceChoice::Cpu,
        ..state
    };
    let app = MclcrApp::new(state, Arc::new(|| {}));
    Harness::builder()
        .with_size(eframe::egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut MclcrApp| app.show(ui), app)
}

/// Steps the app (in real time: workers run meanwhile) until `done` holds.
fn step_until(
    harness: &mut Harness<'static, MclcrApp>,
    what: &str,
    limit: Duration,
    done: impl Fn(&MclcrApp) -> bool,
) {
    let started = Instant::now();
    while !done(harness.state()) {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    harness.step();
    harness.step();
}

/// Asserts that some widget's label contains `text` (it may appear in several panels).
fn shows(harness: &Harness<'static, MclcrApp>, text: &str) {
    assert!(
        harness.query_all_by_label_contains(text).next().is_some(),
        "nothing shows {text:?}"
    );
}

fn drop_files(harness: &mut Harness<'static, MclcrApp>, paths: &[PathBuf]) {
    for path in paths {
        harness
            .input_mut()
            .dropped_files
            .push(Arc::new(Dropped(path.clone())));
    }
    harness.step();
}

fn scanned(harness: &mut Harness<'static, MclcrApp>, expected: usize) {
    step_until(harness, "the model", Duration::from_secs(120), |app| {
        matches!(app.model, ModelStatus::Ready(_))
    });
    step_until(harness, "the scan", Duration::from_secs(300), |app| {
        !app.scan.running && app.items.len() >= expected
    });
}

#[test]
fn a_dropped_sample_shows_a_verdict_and_the_inspector_its_views() {
    let mut harness = app(AppState::default());
    harness.get_by_label("Drop images or folders here");
    drop_files(&mut harness, &[samples().join("grace_hopper.jpg")]);
    scanned(&mut harness, 1);
    let item = &harness.state().items[0];
    assert_eq!(item.report.faces.len(), 1, "{:?}", item.report);
    assert!(item.report.thumbnail.is_some());
    assert!(!harness.state().thumbnails.is_empty());
    // The shipped model gives a verdict; a real portrait is never a false alarm.
    let band = harness.state().items[0].report.verdict;
    assert!(
        matches!(band, Some(Band::NoEvidenceFound | Band::Inconclusive)),
        "{band:?}"
    );
    shows(&harness, band.unwrap().label());
    shows(&harness, "grace_hopper.jpg");
    shows(&harness, "face 1 of 1: score");

    step_until(
        &mut harness,
        "the explanation",
        Duration::from_secs(120),
        |app| app.shown.as_ref().is_some_and(|s| s.result.is_some()) && app.preview.is_some(),
    );
    shows(&harness, "amplitude attention");
    shows(&harness, "phase attention");
    shows(&harness, "What to look for");
    harness.get_by_label("Style correlations").click();
    harness.step();
    harness.step();
    harness.get_by_label("stage 1 (fine)");
    harness.get_by_label("Spectrum").click();
    harness.step();
    harness.step();
    shows(&harness, "centre = zero frequency");
    harness.get_by_label("Robustness").click();
    harness.step();
    harness.step();
    harness.get_by_label("Run the robustness check").click();
    step_until(
        &mut harness,
        "the robustness scores",
        Duration::from_secs(120),
        |app| {
            app.shown
                .as_ref()
                .is_some_and(|s| matches!(&s.result, Some(Ok(e)) if e.robustness.len() == 4))
        },
    );
    shows(&harness, "under every edit");
    assert_eq!(harness.state().items[0].report.faces[0].robustness.len(), 4);
}

#[test]
fn exports_are_valid_html_json_lines_and_csv() {
    let mut harness = app(AppState::default());
    drop_files(&mut harness, &[samples()]);
    scanned(&mut harness, 4);
    let dir = crate::common::tempdir();
    let app = harness.state();
    // A bookmark travels into the report.
    let sha = app.items[0].report.sha256.clone().unwrap();
    let mut app_state = app.state.clone();
    app_state.bookmarks.insert(
        sha.clone(),
        mclcr::export::html::Bookmark {
            status: mclcr::export::html::BookmarkStatus::ToCheck,
            note: "ask the <photographer>".into(),
        },
    );
    harness.state_mut().state = app_state;
    let app = harness.state();

    let html_path = dir.path().join("report.html");
    app.write_export(PickPurpose::ExportHtml, &html_path)
        .unwrap();
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<h2>").count(), 4);
    assert!(html.contains(&sha));
    let scorer = app.scorer().unwrap();
    assert!(html.contains(&scorer.model_id()));
    assert!(html.contains(&scorer.manifest.weights_sha256));
    assert!(html.contains("ask the &lt;photographer&gt;") && html.contains("to check"));
    assert!(html.contains(env!("CARGO_PKG_VERSION")));
    assert!(
        html.contains("data:image/png;base64,iVBORw0KGgo"),
        "no embedded PNG"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the report fetches nothing"
    );

    let json_path = dir.path().join("report.jsonl");
    app.write_export(PickPurpose::ExportJson, &json_path)
        .unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&json_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[4]["type"], "summary");
    assert_eq!(lines[4]["analysed"], 4);

    // As the menu does it: written on a worker, the status bar says when.
    let background = dir.path().join("background.html");
    harness
        .state_mut()
        .export_to(PickPurpose::ExportHtml, background.clone());
    step_until(&mut harness, "the export", Duration::from_secs(60), |app| {
        app.status.starts_with("exported")
    });
    assert_eq!(
        std::fs::read_to_string(&background)
            .unwrap()
            .matches("<h2>")
            .count(),
        4
    );
    let app = harness.state();

    let csv_path = dir.path().join("report.csv");
    app.write_export(PickPurpose::ExportCsv, &csv_path).unwrap();
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(csv.lines().count() >= 5, "{csv}");
}

#[test]
fn a_one_epoch_fine_tune_shows_progress_and_finishes() {
    let dir = crate::common::tempdir();
    let real = crate::train::crops(&dir.path().join("real"), 4, 2);
    let out = dir.path().join("run");
    let mut state = AppState {
        show_training: true,
        ..AppState::default()
    };
    state.train.real = vec![real];
    state.train.out = Some(out.clone());
    state.train.network = "tiny".into();
    state.train.epochs = 1;
    state.train.batch = 4;
    state.train.learning_rate = 1e-3;
    state.train.whole_image = true;
    let mut harness = app(state);
    shows(&harness, "Fine-tuning");
    harness.get_by_label("Start").click();
    harness.step();
    assert!(harness.state().training.running);
    harness.step();
    if harness.state().training.running {
        harness.get_by_label("Pause");
    }
    step_until(
        &mut harness,
        "the fine-tune",
        Duration::from_secs(300),
        |app| !app.training.running,
    );
    let view = &harness.state().training;
    assert!(view.error.is_none(), "{:?}", view.error);
    assert!(!view.loss.is_empty(), "no step reported");
    assert_eq!(view.auc.len(), 1);
    assert!(out.join("best.json").is_file());
    harness.get_by_label("loss per step");
    shows(&harness, "last validation: ACC");
    harness.get_by_label("Use this model").click();
    harness.step();
    step_until(
        &mut harness,
        "the fine-tuned model",
        Duration::from_secs(60),
        |app| matches!(&app.model, ModelStatus::Ready(s) if s.manifest.trained),
    );
    assert_eq!(
        harness.state().state.model.as_deref(),
        Some(out.join("best.json").as_path())
    );
}

/// UI frame times while a large folder scans: `MCLCR_FRAME_BENCH_IMAGES=1000 cargo test
/// --release --test it -- --ignored frame_times --nocapture`. Measures the time the UI thread
/// spends building each frame (no rendering: kittest runs headless).
#[test]
#[ignore]
fn frame_times_while_scanning_a_large_folder() {
    let count: usize = std::env::var("MCLCR_FRAME_BENCH_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = crate::common::tempdir();
    let source = image::open(samples().join("grace_hopper.jpg"))
        .unwrap()
        .to_rgb8();
    for i in 0..count {
        let side = 300 + (i % 7) as u32 * 20;
        let mut img = image::imageops::resize(
            &source,
            side,
            side * 600 / 512,
            image::imageops::FilterType::Triangle,
        );
        img.get_pixel_mut(0, 0).0 = [(i % 256) as u8, (i / 256) as u8, 0];
        img.save(dir.path().join(format!("img{i:04}.png"))).unwrap();
    }
    let mut harness = app(AppState::default());
    step_until(&mut harness, "the model", Duration::from_secs(120), |app| {
        matches!(app.model, ModelStatus::Ready(_))
    });
    harness.state_mut().frame_stats = Default::default();
    drop_files(&mut harness, &[dir.path().to_path_buf()]);
    let started = Instant::now();
    let mut frames = Vec::new();
    while harness.state().scan.running || harness.state().items.len() < count {
        let before = harness.state().items.len();
        let t = Instant::now();
        harness.step();
        let took = t.elapsed();
        if took > Duration::from_millis(16) {
            eprintln!(
                "slow frame: {:.1} ms, items {before} -> {}, explanation {}",
                took.as_secs_f64() * 1e3,
                harness.state().items.len(),
                harness
                    .state()
                    .shown
                    .as_ref()
                    .is_some_and(|s| s.result.is_some())
            );
        }
        frames.push(took);
        assert!(started.elapsed() < Duration::from_secs(3600));
        std::thread::sleep(Duration::from_millis(16));
    }
    frames.sort();
    let pct = |p: f64| frames[((frames.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    let stats = harness.state().frame_stats;
    eprintln!(
        "{count} images in {:.1} s; {} frames: median {:.2} ms, p99 {:.2} ms, max {:.2} ms (UI build only: mean {:.2} ms, max {:.2} ms)",
        started.elapsed().as_secs_f64(),
        frames.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0),
        stats.mean().as_secs_f64() * 1e3,
        stats.max.as_secs_f64() * 1e3
    );
}

#[test]
fn the_model_card_and_presentation_mode_with_arrow_keys() {
    let mut harness = app(AppState::default());
    drop_files(&mut harness, &[samples()]);
    scanned(&mut harness, 4);
    assert_eq!(harness.state().selected, Some((0, 0)));
    // The model card, as the "Model & device" button opens it.
    harness.get_by_label("Model & device").click();
    harness.step();
    harness.step();
    shows(&harness, "weights SHA-256");
    shows(&harness, "mclcr-default@");
    shows(&harness, "evaluation");
    harness.state_mut().state.show_model = false;
    harness.step();
    harness.key_press(eframe::egui::Key::F11);
    harness.step();
    assert!(harness.state().presenting);
    shows(&harness, "arrow keys step through the queue");
    harness.key_press(eframe::egui::Key::ArrowRight);
    harness.step();
    assert_eq!(harness.state().selected, Some((1, 0)));
    harness.key_press(eframe::egui::Key::ArrowLeft);
    harness.key_press(eframe::egui::Key::ArrowLeft);
    harness.step();
    assert_eq!(
        harness.state().selected,
        Some((0, 0)),
        "stops at the first image"
    );
    harness.key_press(eframe::egui::Key::Escape);
    harness.step();
    assert!(!harness.state().presenting);
    shows(&harness, "Queue");
}

#[test]
fn the_file_view_shows_content_credentials_and_the_exif_thumbnail() {
    let mut harness = app(AppState::default());
    let signed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/provenance/c2pa-signed.jpg");
    drop_files(&mut harness, &[signed]);
    scanned(&mut harness, 1);
    harness.get_by_label("File").click();
    harness.step();
    harness.step();
    shows(&harness, "c2pa_signed");
    shows(&harness, "Adobe C2PA Stage");
    shows(&harness, "EXIF thumbnail");
    shows(&harness, "not checked: no trust list is bundled");
    shows(&harness, "missing metadata proves nothing");
}

fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// The queue with 10,000 images, scrolled through: frames stay quick and the thumbnail
/// textures held stay bounded (only rows drawn lately keep theirs).
#[test]
fn ten_thousand_queued_images_scroll_with_bounded_thumbnail_textures() {
    use eframe::egui;
    use mclcr::analysis::ImageReport;
    use mclcr::app::Item;
    use mclcr::app::thumbnails::CAPACITY;
    let mut harness = app(AppState::default());
    harness.step();
    let before = resident_mib();
    for i in 0..10_000u32 {
        let mut report = ImageReport::failed(
            i as usize,
            PathBuf::from(format!("img{i:05}.jpg")),
            "test".into(),
        );
        report.error = None;
        report.thumbnail = Some(image::RgbImage::from_pixel(
            96,
            72,
            image::Rgb([(i % 251) as u8, (i / 251) as u8, 90]),
        ));
        harness.state_mut().items.push(Item { report });
    }
    let mut frames = Vec::new();
    for _ in 0..400 {
        harness.hover_at(egui::pos2(150.0, 500.0));
        harness.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Page,
            delta: egui::vec2(0.0, -1.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Unknown,
            modifiers: egui::Modifiers::NONE,
        });
        let t = Instant::now();
        harness.step();
        frames.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(harness.state().thumbnails.len() <= CAPACITY);
    }
    frames.sort_by(f64::total_cmp);
    let allocated = harness.ctx.tex_manager().read().num_allocated();
    eprintln!(
        "10,000 queued images: +{:.0} MiB resident, frames median {:.1} ms, max {:.1} ms, \
         {} thumbnail textures held, {allocated} textures allocated",
        resident_mib() - before,
        frames[frames.len() / 2],
        frames[frames.len() - 1],
        harness.state().thumbnails.len(),
    );
    assert!(allocated <= CAPACITY + 64, "{allocated} textures allocated");
    assert!(frames[frames.len() / 2] < 200.0, "median frame {frames:?}");
}
