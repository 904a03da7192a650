//! Exports of the queue: JSON Lines and CSV (the CLI's formats) and the HTML report.
//!
//! [`snapshot`] copies what an export needs on the UI thread (reports, bookmarks, the shown
//! explanation; no encoding); [`ExportSnapshot::write`] encodes and writes it, on a worker
//! thread in the app, so that a large queue never stalls a frame.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::types::{PickPurpose, Shown};
use crate::analysis::ImageReport;
use crate::analysis::explain::FaceExplanation;
use crate::atomic_file::{self, WriteError};
use crate::export::html::{self, Bookmark, ReportItem};
use crate::export::records::{Format, ReportWriter, RunInfo, Summary};
use crate::imaging::heatmap;
use crate::inference::scorer::Scorer;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No model is loaded (the export names the model).
    #[error("no model is loaded")]
    NoModel,
    /// Not an export format.
    #[error("not an export")]
    NotAnExport,
    /// Writing failed; the file that was there is unchanged.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Everything an export writes, copied out of the app.
#[derive(Debug, Clone)]
pub struct ExportSnapshot {
    format: PickPurpose,
    info: RunInfo,
    model_sha256: String,
    reports: Vec<(ImageReport, Option<Bookmark>)>,
    explained: Option<(PathBuf, Arc<FaceExplanation>)>,
    opacity: f32,
}

/// The queue as shown, for an export in the format of `purpose`: `reports` in the queue's order
/// and filter, their `bookmarks`, and the inspector's explanation (`shown`, pictured in the
/// HTML report at the overlay `opacity`). Copies; encodes nothing.
pub fn snapshot<'a>(
    purpose: PickPurpose,
    scorer: Option<&Scorer>,
    reports: impl IntoIterator<Item = &'a ImageReport>,
    bookmarks: &BTreeMap<String, Bookmark>,
    shown: Option<&Shown>,
    opacity: f32,
) -> Result<ExportSnapshot, ExportError> {
    if !matches!(
        purpose,
        PickPurpose::ExportHtml | PickPurpose::ExportJson | PickPurpose::ExportCsv
    ) {
        return Err(ExportError::NotAnExport);
    }
    let scorer = scorer.ok_or(ExportError::NoModel)?;
    let reports = reports
        .into_iter()
        .map(|report| {
            let bookmark = report
                .sha256
                .as_ref()
                .and_then(|s| bookmarks.get(s))
                .cloned();
            (report.clone(), bookmark)
        })
        .collect();
    let explained = shown.and_then(|s| match &s.result {
        Some(Ok(e)) if purpose == PickPurpose::ExportHtml => Some((s.key.path.clone(), e.clone())),
        _ => None,
    });
    Ok(ExportSnapshot {
        format: purpose,
        info: RunInfo::of(scorer),
        model_sha256: scorer.manifest.weights_sha256.clone(),
        reports,
        explained,
        opacity,
    })
}

impl ExportSnapshot {
    /// Writes the export to `path`, atomically ([`atomic_file`]): a failed export leaves the
    /// file that was there.
    pub fn write(&self, path: &Path) -> Result<(), ExportError> {
        atomic_file::write_with(path, |file| match self.format {
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
                let html = html::html(&items, &self.info, &self.model_sha256, &html::utc_now());
                file.write_all(html.as_bytes())
            }
            _ => {
                let format = if self.format == PickPurpose::ExportJson {
                    Format::Json
                } else {
                    Format::Csv
                };
                let mut writer = ReportWriter::new(file, format, self.info.clone());
                let mut summary = Summary::default();
                for (report, _) in &self.reports {
                    summary.add(report);
                    writer.write(report)?;
                }
                writer.finish(&summary)
            }
        })?;
        Ok(())
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
