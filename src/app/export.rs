//! Exports of the queue: JSON Lines and CSV (the CLI's formats) and the HTML report.

use std::io::Write;
use std::path::Path;

use super::MclcrApp;
use super::jobs::PickPurpose;
use crate::heatmap;
use crate::output::{Format, ReportWriter, RunInfo, Summary};
use crate::report::{self, ReportItem};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// No model is loaded (the export names the model).
    #[error("no model is loaded")]
    NoModel,
    /// Writing failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
}

/// Writes the queue (in its current order and filter) to `path` in the format of `purpose`.
pub fn write(app: &MclcrApp, purpose: PickPurpose, path: &Path) -> Result<(), ExportError> {
    let scorer = app.scorer().ok_or(ExportError::NoModel)?;
    let info = RunInfo::of(scorer);
    let io = |error| ExportError::Io {
        path: path.display().to_string(),
        error,
    };
    let visible = app.visible_items();
    let tmp = path.with_extension("part");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io)?);
    match purpose {
        PickPurpose::ExportHtml => {
            let explained = app.shown.as_ref().and_then(|s| match &s.result {
                Some(Ok(e)) => Some((s.key.path.clone(), e)),
                _ => None,
            });
            let items: Vec<ReportItem<'_>> = visible
                .iter()
                .map(|&i| {
                    let item = &app.items[i];
                    let mut views = Vec::new();
                    if let Some((path, e)) = &explained
                        && *path == item.report.path
                        && e.score.grid > 0
                    {
                        let grid = e.score.grid;
                        views.push(("face crop".to_string(), e.crop.clone()));
                        views.push((
                            "amplitude attention".to_string(),
                            heatmap::overlay(
                                &e.crop,
                                &e.score.amplitude_map,
                                grid,
                                app.state.opacity,
                            ),
                        ));
                        views.push((
                            "phase attention".to_string(),
                            heatmap::overlay(&e.crop, &e.score.phase_map, grid, app.state.opacity),
                        ));
                    }
                    ReportItem {
                        report: &item.report,
                        thumbnail: item.report.thumbnail.as_ref(),
                        views,
                        bookmark: item
                            .report
                            .sha256
                            .as_ref()
                            .and_then(|s| app.state.bookmarks.get(s)),
                    }
                })
                .collect();
            let html = report::html(
                &items,
                &info,
                &scorer.manifest.weights_sha256,
                &report::utc_now(),
            );
            file.write_all(html.as_bytes()).map_err(io)?;
        }
        PickPurpose::ExportJson | PickPurpose::ExportCsv => {
            let format = if purpose == PickPurpose::ExportJson {
                Format::Json
            } else {
                Format::Csv
            };
            let mut writer = ReportWriter::new(&mut file, format, info);
            let mut summary = Summary::default();
            for &i in &visible {
                summary.add(&app.items[i].report);
                writer.write(&app.items[i].report).map_err(io)?;
            }
            writer.finish(&summary).map_err(io)?;
        }
        _ => {}
    }
    file.flush().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}
