//! Analysing many images with flat memory: decoding and face detection on worker threads,
//! faces batched to the model on the calling thread, reports delivered in input order.
//!
//! ```text
//! inputs ──► [bounded jobs] ──► N workers: read, decode, detect, crop ──► [bounded] ──►
//!     model thread: batch faces across images, score, verdict ──► callback, in input order
//! ```
//! Every queue is bounded, so at most a few decoded images are alive at a time however large
//! the folder. A file that fails gives a report with its error; the scan goes on.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};

use image::RgbImage;

use super::decode::{Decoded, DecodedImage, decode_one};
use super::maps::write_maps;
use super::options::ScanOptions;
use super::report::{FaceReport, ImageReport};
use super::robustness::{self, VariantScore};
use super::verdict::Band;
use crate::imaging::face_finder::FaceFinder;
use crate::inference::scorer::{FaceScore, Scorer};

/// Analyses `inputs` (from [`crate::imaging::inputs::collect_inputs`]) and calls `on_report` once per input, in input
/// order. Returns when every input has been reported.
pub fn scan(
    inputs: Vec<(PathBuf, Option<String>)>,
    scorer: &Scorer,
    options: &ScanOptions,
    mut on_report: impl FnMut(ImageReport),
) {
    let workers = options.workers.max(1);
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, PathBuf, Option<String>)>(workers * 2);
    let (done_tx, done_rx) = mpsc::sync_channel::<Decoded>(workers + 2);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let min_face_side = scorer.min_face_side();
    std::thread::scope(|scope| {
        let cancel = options.cancel.clone();
        scope.spawn(move || {
            for (index, (path, error)) in inputs.into_iter().enumerate() {
                if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
                    || job_tx.send((index, path, error)).is_err()
                {
                    break;
                }
            }
        });
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let done_tx: SyncSender<Decoded> = done_tx.clone();
            scope.spawn(move || {
                let mut finder = FaceFinder::new(options.detector);
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((index, path, error)) = job else { break };
                    let result = match error {
                        Some(e) => Err(e),
                        // A decoder bug on one file must not take the batch down with it.
                        None => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            decode_one(&path, options, &mut finder, min_face_side)
                        }))
                        .unwrap_or_else(|_| {
                            finder = FaceFinder::new(options.detector);
                            Err("internal error while decoding this file".to_string())
                        }),
                    };
                    if done_tx
                        .send(Decoded {
                            index,
                            path,
                            result,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        infer(done_rx, scorer, options, &mut on_report);
    });
}

/// The model side: batches faces across images and delivers reports in order.
fn infer(
    done_rx: Receiver<Decoded>,
    scorer: &Scorer,
    options: &ScanOptions,
    on_report: &mut impl FnMut(ImageReport),
) {
    let batch = options.batch.max(1);
    let mut waiting: Vec<(usize, PathBuf, DecodedImage)> = Vec::new();
    let mut finished: BTreeMap<usize, ImageReport> = BTreeMap::new();
    let mut next = 0usize;
    let mut open = true;
    while open || !waiting.is_empty() {
        let received = if waiting.is_empty() {
            done_rx.recv().map_err(|_| TryRecvError::Disconnected)
        } else {
            done_rx.try_recv()
        };
        let idle = received.is_err();
        match received {
            Ok(decoded) => match decoded.result {
                Ok(image) if !image.faces.is_empty() => {
                    waiting.push((decoded.index, decoded.path, image));
                }
                Ok(image) => {
                    let report = build_report(decoded.index, decoded.path, image);
                    finished.insert(report.index, report);
                }
                Err(error) => {
                    finished.insert(
                        decoded.index,
                        ImageReport::failed(decoded.index, decoded.path, error),
                    );
                }
            },
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => open = false,
        }
        let pending: usize = waiting.iter().map(|(_, _, image)| image.faces.len()).sum();
        if pending > 0 && (pending >= batch || idle) {
            for report in score_waiting(std::mem::take(&mut waiting), scorer, options, batch) {
                finished.insert(report.index, report);
            }
        }
        while let Some(report) = finished.remove(&next) {
            on_report(report);
            next += 1;
        }
    }
    // Nothing is left behind should an input never have come back.
    for report in finished.into_values() {
        on_report(report);
    }
}

fn score_waiting(
    waiting: Vec<(usize, PathBuf, DecodedImage)>,
    scorer: &Scorer,
    options: &ScanOptions,
    batch: usize,
) -> Vec<ImageReport> {
    let crops: Vec<&RgbImage> = waiting
        .iter()
        .flat_map(|(_, _, image)| image.faces.iter().map(|face| &face.crop))
        .collect();
    let mut scores: Vec<FaceScore> = Vec::with_capacity(crops.len());
    for chunk in crops.chunks(batch) {
        scores.extend(scorer.score(chunk.iter().copied()));
    }
    // Per face, its score under each robustness variant (empty without the check).
    let mut variant_scores: Vec<Vec<VariantScore>> = vec![Vec::new(); crops.len()];
    if options.robustness {
        for (face, crop) in variant_scores.iter_mut().zip(&crops) {
            *face = robustness::variant_scores(scorer, crop);
        }
    }
    let mut variant_scores = variant_scores.into_iter();
    let mut scores = scores.into_iter();
    waiting
        .into_iter()
        .map(|(index, path, image)| {
            let image_scores: Vec<FaceScore> = scores.by_ref().take(image.faces.len()).collect();
            let image_variants: Vec<Vec<VariantScore>> =
                variant_scores.by_ref().take(image.faces.len()).collect();
            let maps = match &options.maps_dir {
                Some(dir) => write_maps(dir, &path, &image, &image_scores, scorer.input_side()),
                None => vec![Vec::new(); image_scores.len()],
            };
            let mut report = build_report(index, path, image);
            report.faces = image_faces(&report, &image_scores, maps, image_variants, scorer);
            report.settle_verdict(&scorer.manifest.bands, scorer.manifest.trained);
            report
        })
        .collect()
}

/// The report of a decoded image, with its faces' boxes but no scores yet.
fn build_report(index: usize, path: PathBuf, image: DecodedImage) -> ImageReport {
    let mut report = ImageReport {
        index,
        path,
        sha256: Some(image.sha256),
        format: Some(image.format),
        width: Some(image.width),
        height: Some(image.height),
        jpeg_quality: image.jpeg_quality,
        verdict: None,
        max_score: None,
        faces: Vec::new(),
        flags: image.flags,
        error: None,
        thumbnail: image.thumbnail,
        file: Some(image.file),
    };
    report.faces = image
        .faces
        .into_iter()
        .map(|face| FaceReport {
            bbox: face.detected.map(|f| f.bbox),
            detector_confidence: face.detected.map(|f| f.confidence),
            detector: face.detected.map(|f| f.detector),
            crop: face.crop_box,
            score: f32::NAN,
            band: Band::NotApplicable,
            maps: Vec::new(),
            robustness: Vec::new(),
        })
        .collect();
    if report.faces.is_empty() {
        report.settle_verdict(&Default::default(), false);
    }
    report
}

fn image_faces(
    report: &ImageReport,
    scores: &[FaceScore],
    maps: Vec<Vec<PathBuf>>,
    variants: Vec<Vec<VariantScore>>,
    scorer: &Scorer,
) -> Vec<FaceReport> {
    report
        .faces
        .iter()
        .zip(scores)
        .zip(maps)
        .zip(variants)
        .map(|(((face, score), maps), robustness)| FaceReport {
            score: score.probability,
            band: Band::of_score(
                score.probability,
                &scorer.manifest.bands,
                scorer.manifest.trained,
            ),
            maps,
            robustness,
            ..face.clone()
        })
        .collect()
}
