//! Exports of the queue: JSON Lines and CSV (the CLI's formats) and the HTML report.
//!
//! [`snapshot`] copies what an export needs on the UI thread (reports, bookmarks, the shown
//! explanation; no encoding); [`ExportSnapshot::write`] encodes and writes it, on a worker
//! thread in the app, so that a large queue never stalls a frame.

use std::io::Write;
use std::path::Path;

use super::MclcrApp;
use super::jobs::PickPurpose;
use crate::explain::FaceExplanation;
use crate::heatmap;
use crate::output::{Format, ReportWriter, RunInfo, Summary};
use crate::report::{self, Bookmark, ReportItem};
use crate::scan::ImageReport;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No model is loaded (the export names the model).
    #[error("no model is loaded")]
    NoModel,
    /// Not an export format.
    #[error("not an export")]
    NotAnExport,
    /// Writing failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
}

/// Everything an export writes, copied out of the app.
#[derive(Debug, Clone)]
pub struct ExportSnapshot {
    format: PickPurpose,
    info: RunInfo,
    model_sha256: String,
    reports: Vec<(ImageReport, Option<Bookmark>)>,
    explained: Option<(std::path::PathBuf, std::sync::Arc<FaceExplanation>)>,
    opacity: f32,
}

/// The queue as shown (order and filter), for an export in the format of `purpose`.
pub fn snapshot(app: &MclcrApp, purpose: PickPurpose) -> Result<ExportSnapshot, ExportError> {
    if !matches!(
        purpose,
        PickPurpose::ExportHtml | PickPurpose::ExportJson | PickPurpose::ExportCsv
    ) {
        return Err(ExportError::NotAnExport);
    }
    let scorer = app.scorer().ok_or(ExportError::NoModel)?;
    let reports = app
        .visible_items()
        .into_iter()
        .map(|i| {
            let report = app.items[i].report.clone();
            let bookmark = report
                .sha256
                .as_ref()
                .and_then(|s| app.state.bookmarks.get(s))
                .cloned();
            (report, bookmark)
        })
        .collect();
    let explained = app.shown.as_ref().and_then(|s| match &s.result {
        Some(Ok(e)) if purpose == PickPurpose::ExportHtml => Some((s.key.path.clone(), e.clone())),
        _ => None,
    });
    Ok(ExportSnapshot {
        format: purpose,
        info: RunInfo::of(scorer),
        model_sha256: scorer.manifest.weights_sha256.clone(),
        reports,
        explained,
        opacity: app.state.opacity,
    })
}

/// Exports the queue to `path` right away (on the calling thread).
pub fn write(app: &MclcrApp, purpose: PickPurpose, path: &Path) -> Result<(), ExportError> {
    snapshot(app, purpose)?.write(path)
}

impl ExportSnapshot {
    /// Writes the export to `path` (through a temporary file, renamed when complete).
    pub fn write(&self, path: &Path) -> Result<(), ExportError> {
        let io = |error| ExportError::Io {
            path: path.display().to_string(),
            error,
        };
        let tmp = path.with_extension("part");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
        match self.format {
            PickPurpose::ExportHtml => {
                let items: Vec<ReportItem<'_>> = self
                    .reports
                    .iter()
                    .map(|(report, bookmark)| ReportItem {
                        report,
                        thumbnail: report.thumbnail.as_ref(),
                        views: self.views(report),
                        bookmark: bookmark.as_ref(),
                    })
                    .collect();
                let html = report::html(&items, &self.info, &self.model_sha256, &report::utc_now());
                file.write_all(html.as_bytes()).map_err(io)?;
            }
            _ => {
                let format = if self.format == PickPurpose::ExportJson {
                    Format::Json
                } else {
                    Format::Csv
                };
                let mut writer = ReportWriter::new(&mut file, format, self.info.clone());
                let mut summary = Summary::default();
                for (report, _) in &self.reports {
                    summary.add(report);
                    writer.write(report).map_err(io)?;
                }
                writer.finish(&summary).map_err(io)?;
            }
        }
        file.flush().map_err(io)?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The explanation pictures of `report`'s face, when it is the one the inspector shows.
    fn views(&self, report: &ImageReport) -> Vec<(String, image::RgbImage)> {
        let Some((path, e)) = &self.explained else {
            return Vec::new();
        };
        if *path != report.path || e.score.grid == 0 {
            return Vec::new();
        }
        let grid = e.score.grid;
        vec![
            ("face crop".to_string(), e.crop.clone()),
            (
                "amplitude attention".to_string(),
                heatmap::overlay(&e.crop, &e.score.amplitude_map, grid, self.opacity),
            ),
            (
                "phase attention".to_string(),
                heatmap::overlay(&e.crop, &e.score.phase_map, grid, self.opacity),
            ),
        ]
    }
}
