//! A self-contained HTML report of an analysis: one file, images embedded, nothing fetched when
//! it is opened. It carries what a reader needs to trust or check it: each file's SHA-256, the
//! model's identity and checksum, the band thresholds, the app version and the date, and the
//! analyst's bookmarks with their notes.

use std::fmt::Write as _;
use std::io::Cursor;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::escape::printable;
use crate::analysis::ImageReport;
use crate::analysis::verdict::CAUTION;
use crate::export::records::RunInfo;

/// An analyst's judgement of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BookmarkStatus {
    /// Checked, nothing to report.
    #[default]
    Ok,
    /// Needs another look.
    ToCheck,
    /// Something is wrong.
    Warning,
}

impl BookmarkStatus {
    /// All statuses, in menu order.
    pub const ALL: [Self; 3] = [Self::Ok, Self::ToCheck, Self::Warning];

    /// Words shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ToCheck => "to check",
            Self::Warning => "warning",
        }
    }
}

/// A bookmark: status and free-text note.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Bookmark {
    /// The analyst's status.
    pub status: BookmarkStatus,
    /// The analyst's note.
    pub note: String,
}

/// One image in the report.
#[derive(Debug, Clone)]
pub struct ReportItem<'a> {
    /// The analysis result.
    pub report: &'a ImageReport,
    /// A thumbnail of the image.
    pub thumbnail: Option<&'a RgbImage>,
    /// Explanation images (label, picture), e.g. attention overlays of the first face.
    pub views: Vec<(String, RgbImage)>,
    /// The analyst's bookmark.
    pub bookmark: Option<&'a Bookmark>,
}

/// Writes the report as one HTML document.
pub fn html(items: &[ReportItem<'_>], info: &RunInfo, model_sha256: &str, date: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>mclcr report</title><style>\
         body{font-family:sans-serif;margin:2em;color:#222}\
         table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
         .likely{color:#b00020;font-weight:bold}.inconclusive{color:#a66a00;font-weight:bold}\
         .none{color:#1b6e1b;font-weight:bold}.na{color:#666}\
         code{font-size:90%}img{max-width:256px;image-rendering:auto}.caution{background:#fff4e0;padding:.6em;border:1px solid #e0b060}\
         </style></head><body>\n<h1>mclcr report</h1>\n",
    );
    let _ = writeln!(
        out,
        "<table><tr><th>date</th><td>{}</td></tr><tr><th>app</th><td>mclcr {}</td></tr>\
         <tr><th>model</th><td><code>{}</code>{}</td></tr><tr><th>model SHA-256</th><td><code>{}</code></td></tr>\
         <tr><th>thresholds</th><td>inconclusive from {}, likely manipulated from {}</td></tr>\
         <tr><th>device</th><td>{}</td></tr><tr><th>images</th><td>{}</td></tr></table>",
        escape(date),
        escape(&info.version),
        escape(&info.model),
        if info.trained {
            ""
        } else {
            " (untrained: no verdicts)"
        },
        escape(model_sha256),
        info.thresholds[0],
        info.thresholds[1],
        escape(&info.device),
        items.len()
    );
    let _ = writeln!(out, "<p class=\"caution\">{}</p>", escape(CAUTION));
    for item in items {
        let report = item.report;
        let name = report
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let _ = writeln!(out, "<hr><h2>{}</h2>", escape(&printable(&name)));
        out.push_str("<table><tr><td>");
        if let Some(thumb) = item.thumbnail {
            let _ = write!(out, "<img alt=\"thumbnail\" src=\"{}\">", data_uri(thumb));
        }
        out.push_str("</td><td><table>");
        let row = |out: &mut String, key: &str, value: String| {
            let _ = write!(out, "<tr><th>{key}</th><td>{value}</td></tr>");
        };
        row(
            &mut out,
            "file",
            format!(
                "<code>{}</code>",
                escape(&printable(&report.path.display().to_string()))
            ),
        );
        row(
            &mut out,
            "SHA-256",
            format!(
                "<code>{}</code>",
                escape(report.sha256.as_deref().unwrap_or("—"))
            ),
        );
        if let Some(error) = &report.error {
            row(&mut out, "error", escape(&printable(error)));
        }
        if let Some(verdict) = report.verdict {
            row(
                &mut out,
                "verdict",
                format!(
                    "<span class=\"{}\">{}</span>",
                    band_class(verdict),
                    escape(verdict.label())
                ),
            );
        }
        if let Some(note) = report.verdict_note() {
            row(&mut out, "declared origin", escape(&printable(&note)));
        }
        if let (Some(w), Some(h)) = (report.width, report.height) {
            row(&mut out, "size", format!("{w} × {h}"));
        }
        if let Some(q) = report.jpeg_quality {
            row(&mut out, "JPEG quality (estimated)", q.to_string());
        }
        if !report.flags.is_empty() {
            let flags: Vec<String> = report.flags.iter().map(|f| escape(&f.describe())).collect();
            row(&mut out, "flags", flags.join("; "));
        }
        for (i, face) in report.faces.iter().enumerate() {
            row(
                &mut out,
                &format!("face {}", i + 1),
                format!(
                    "score {:.3}, <span class=\"{}\">{}</span>, crop {}×{} at ({}, {})",
                    face.score,
                    band_class(face.band),
                    escape(face.band.label()),
                    face.crop.width,
                    face.crop.height,
                    face.crop.x,
                    face.crop.y
                ),
            );
        }
        if let Some(bookmark) = item.bookmark {
            row(
                &mut out,
                "analyst",
                format!(
                    "<b>{}</b> {}",
                    bookmark.status.label(),
                    escape(&bookmark.note)
                ),
            );
        }
        out.push_str("</table></td></tr></table>\n");
        if let Some(file) = &report.file {
            out.push_str(&file_section(file));
        }
        if !item.views.is_empty() {
            out.push_str("<p>");
            for (label, picture) in &item.views {
                let _ = write!(
                    out,
                    "<figure style=\"display:inline-block;margin:4px\"><img alt=\"{0}\" src=\"{1}\"><figcaption>{0}</figcaption></figure>",
                    escape(label),
                    data_uri(picture)
                );
            }
            out.push_str("</p>\n");
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// The file's own testimony: findings, then every fact read, with the card that says what it
/// can and cannot tell; kept apart from the network's verdict.
fn file_section(file: &crate::provenance::FileEvidence) -> String {
    let facts = file.facts();
    if facts.is_empty() && file.findings.is_empty() {
        return "<p class=\"file\"><b>File:</b> no metadata (which proves nothing: most platforms strip it).</p>\n".into();
    }
    let mut out = String::from(
        "<details class=\"file\" open><summary><b>File</b> — what the file says about itself</summary>",
    );
    if !file.findings.is_empty() {
        out.push_str("<ul>");
        for f in &file.findings {
            let _ = write!(
                out,
                "<li><code>{}</code> {}</li>",
                f.name(),
                escape(&printable(&f.describe()))
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("<table>");
    for fact in facts {
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(fact.label),
            escape(&printable(&fact.value))
        );
    }
    let _ = writeln!(
        out,
        "</table><p><small>{}</small></p></details>",
        escape(crate::provenance::CARD)
    );
    out
}

fn band_class(band: crate::analysis::verdict::Band) -> &'static str {
    use crate::analysis::verdict::Band;
    match band {
        Band::LikelyManipulated => "likely",
        Band::Inconclusive => "inconclusive",
        Band::NoEvidenceFound => "none",
        Band::NotApplicable | Band::Untrained => "na",
    }
}

/// HTML-escapes text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A `data:image/png;base64,…` URI of an image.
pub fn data_uri(image: &RgbImage) -> String {
    let mut png = Vec::new();
    if image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .is_err()
    {
        return String::new();
    }
    format!("data:image/png;base64,{}", base64(&png))
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Today's date and time in UTC, `YYYY-MM-DD HH:MM UTC`, from the system clock.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {h:02}:{m:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_examples() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_date_is_well_formed() {
        let now = utc_now();
        assert_eq!(now.len(), "2026-11-29 05:30 UTC".len(), "{now}");
        assert!(now.starts_with("20"), "{now}");
    }
}
