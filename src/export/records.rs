//! Writing analysis results: a readable table, JSON Lines, or CSV.
//!
//! Every format carries the model's identity and the caution line: the table in its footer,
//! JSON Lines in a final `summary` record, CSV in a trailing `#` comment line.

use std::io::Write;

use serde::Serialize;

use super::escape::{csv_field, printable};
use crate::analysis::ImageReport;
use crate::analysis::verdict::{Band, CAUTION};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    #[default]
    Table,
    /// One JSON object per image, then a summary object.
    Json,
    /// One row per face (or per image without faces).
    Csv,
}

/// Facts about the run that every output repeats.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Model identifier (name@sha256 prefix).
    pub model: String,
    /// Whether the classifier is trained.
    pub trained: bool,
    /// The band thresholds.
    pub thresholds: [f32; 2],
    /// The device.
    pub device: String,
    /// Program version.
    pub version: String,
}

impl RunInfo {
    /// The facts of a run with `scorer`.
    pub fn of(scorer: &crate::inference::scorer::Scorer) -> Self {
        Self {
            model: scorer.model_id(),
            trained: scorer.manifest.trained,
            thresholds: [
                scorer.manifest.bands.clear,
                scorer.manifest.bands.manipulated,
            ],
            device: scorer.device.label.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Counts at the end of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Images analysed.
    pub analysed: usize,
    /// Files that failed.
    pub failed: usize,
    /// Faces scored.
    pub faces: usize,
    /// Images per verdict.
    pub verdicts: std::collections::BTreeMap<String, usize>,
}

impl Summary {
    /// Counts one report.
    pub fn add(&mut self, report: &ImageReport) {
        if report.error.is_some() {
            self.failed += 1;
        } else {
            self.analysed += 1;
            self.faces += report.faces.len();
            if let Some(v) = report.verdict {
                *self.verdicts.entry(v.label().to_string()).or_default() += 1;
            }
        }
    }
}

/// Streams reports to a writer in one format.
pub struct ReportWriter<W: Write> {
    out: W,
    format: Format,
    info: RunInfo,
    wrote_header: bool,
}

impl<W: Write> ReportWriter<W> {
    /// A writer for `format`.
    pub fn new(out: W, format: Format, info: RunInfo) -> Self {
        Self {
            out,
            format,
            info,
            wrote_header: false,
        }
    }

    /// Writes one image's report.
    pub fn write(&mut self, report: &ImageReport) -> std::io::Result<()> {
        if !self.wrote_header {
            self.header()?;
            self.wrote_header = true;
        }
        match self.format {
            Format::Json => {
                #[derive(Serialize)]
                struct Line<'a> {
                    r#type: &'static str,
                    #[serde(flatten)]
                    report: &'a ImageReport,
                }
                let line = serde_json::to_string(&Line {
                    r#type: "image",
                    report,
                })
                .map_err(std::io::Error::other)?;
                writeln!(self.out, "{line}")
            }
            Format::Csv => self.csv_rows(report),
            Format::Table => self.table_rows(report),
        }
    }

    /// Writes the closing part (summary, caution) and flushes.
    pub fn finish(mut self, summary: &Summary) -> std::io::Result<()> {
        if !self.wrote_header {
            self.header()?;
        }
        match self.format {
            Format::Json => {
                #[derive(Serialize)]
                struct Closing<'a> {
                    r#type: &'static str,
                    #[serde(flatten)]
                    summary: &'a Summary,
                    run: &'a RunInfo,
                    caution: &'static str,
                }
                let line = serde_json::to_string(&Closing {
                    r#type: "summary",
                    summary,
                    run: &self.info,
                    caution: CAUTION,
                })
                .map_err(std::io::Error::other)?;
                writeln!(self.out, "{line}")?;
            }
            Format::Csv => {
                writeln!(self.out, "# model {}; {}", self.info.model, CAUTION)?;
            }
            Format::Table => {
                writeln!(self.out)?;
                writeln!(
                    self.out,
                    "{} analysed, {} failed, {} faces. Model {} on {}.",
                    summary.analysed,
                    summary.failed,
                    summary.faces,
                    self.info.model,
                    self.info.device
                )?;
                if !self.info.trained {
                    writeln!(
                        self.out,
                        "The classifier of this model is UNTRAINED: its scores mean nothing and no verdict is given."
                    )?;
                }
                writeln!(self.out, "{CAUTION}")?;
            }
        }
        self.out.flush()
    }

    fn header(&mut self) -> std::io::Result<()> {
        match self.format {
            Format::Json => Ok(()),
            Format::Csv => writeln!(
                self.out,
                "path,sha256,image_verdict,flags,face,x,y,width,height,detector_confidence,score,face_band,error,file_findings"
            ),
            Format::Table => {
                if !self.info.trained {
                    writeln!(
                        self.out,
                        "note: model {} has an untrained classifier; scores are shown for inspection only",
                        self.info.model
                    )?;
                }
                writeln!(
                    self.out,
                    "{:<NAME_WIDTH$} {:>4} {:>19} {:>6}  {:<24} {:<24} flags",
                    "file", "face", "box x,y,w,h", "score", "face band", "image verdict"
                )
            }
        }
    }

    fn csv_rows(&mut self, report: &ImageReport) -> std::io::Result<()> {
        let path = csv_field(&report.path.display().to_string());
        let sha = report.sha256.clone().unwrap_or_default();
        let verdict = report.verdict.map(Band::label).unwrap_or("");
        let flags = report
            .flags
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(";");
        let error = csv_field(report.error.as_deref().unwrap_or(""));
        let file = csv_field(
            &report
                .file_findings()
                .iter()
                .map(|f| f.short())
                .collect::<Vec<_>>()
                .join(";"),
        );
        if report.faces.is_empty() {
            return writeln!(
                self.out,
                "{path},{sha},{verdict},{flags},,,,,,,,,{error},{file}"
            );
        }
        for (k, face) in report.faces.iter().enumerate() {
            let b = face.bbox.unwrap_or(face.crop);
            let confidence = face
                .detector_confidence
                .map(|c| format!("{c:.3}"))
                .unwrap_or_default();
            writeln!(
                self.out,
                "{path},{sha},{verdict},{flags},{},{},{},{},{},{confidence},{:.4},{},{error},{file}",
                k + 1,
                b.x,
                b.y,
                b.width,
                b.height,
                face.score,
                face.band.label()
            )?;
        }
        Ok(())
    }

    fn table_rows(&mut self, report: &ImageReport) -> std::io::Result<()> {
        let name = shorten(&printable(&report.path.display().to_string()), NAME_WIDTH);
        if let Some(error) = &report.error {
            let error = printable(error);
            return writeln!(self.out, "{name:<NAME_WIDTH$} error: {error}");
        }
        let flags = report
            .flags
            .iter()
            .map(|f| f.describe())
            .collect::<Vec<_>>()
            .join("; ");
        let verdict = report.verdict.map(Band::label).unwrap_or("-");
        if report.faces.is_empty() {
            writeln!(
                self.out,
                "{name:<NAME_WIDTH$} {:>4} {:>19} {:>6}  {:<24} {verdict:<24} {flags}",
                "-", "-", "-", "-"
            )?;
            return self.file_line(report);
        }
        for (k, face) in report.faces.iter().enumerate() {
            let b = face.bbox.unwrap_or(face.crop);
            let bbox = format!("{},{},{},{}", b.x, b.y, b.width, b.height);
            // The image's verdict and flags are shown once, on its first face.
            let (name, verdict, flags) = if k == 0 {
                (name.as_str(), verdict, flags.as_str())
            } else {
                ("", "", "")
            };
            writeln!(
                self.out,
                "{name:<NAME_WIDTH$} {:>4} {bbox:>19} {:>6.3}  {:<24} {verdict:<24} {flags}",
                k + 1,
                face.score,
                face.band.label(),
            )?;
        }
        self.file_line(report)
    }

    /// The file's own findings and parse notes, on a line of their own under the image: facts
    /// read from the file, kept apart from the network's verdict.
    fn file_line(&mut self, report: &ImageReport) -> std::io::Result<()> {
        let Some(file) = &report.file else {
            return Ok(());
        };
        let mut parts: Vec<String> = file.findings.iter().map(|f| f.describe()).collect();
        parts.extend(file.notes.iter().map(|n| format!("unreadable {n}")));
        if parts.is_empty() {
            return Ok(());
        }
        let parts = printable(&parts.join("; "));
        writeln!(self.out, "{:<NAME_WIDTH$} file: {parts}", "")
    }
}

/// Width of the file column of the table.
const NAME_WIDTH: usize = 32;

/// Keeps the end of a long path (the file name matters most).
fn shorten(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        text.to_string()
    } else {
        let tail: String = text.chars().skip(count - (width - 1)).collect();
        format!("…{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("a.jpg"), "a.jpg");
        assert_eq!(csv_field("a,b.jpg"), "\"a,b.jpg\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn long_paths_keep_their_end() {
        let s = shorten("/a/very/long/folder/name/photo.jpg", 12);
        assert_eq!(s.chars().count(), 12);
        assert!(s.ends_with("photo.jpg"));
    }
}
