//! File names that try to break what mclcr writes: line breaks and terminal control sequences
//! in the table, formula starts in CSV, markup in the HTML report, anything in JSON.

use std::path::{Path, PathBuf};
use std::process::Command;

use mclcr::analysis::ImageReport;
use mclcr::export::html::{ReportItem, html};
use mclcr::export::records::RunInfo;

/// The hostile names, each a copy of a small real photo (so it has a face and a verdict).
const NAMES: [&str; 7] = [
    "new\nline.jpg",
    "esc\u{1b}[2Jclear.jpg",
    "=HYPERLINK(\"http-x\",\"y\").jpg",
    "+plus.jpg",
    "-minus.jpg",
    "@at.jpg",
    "<script>alert(1)<\\script>.jpg",
];

fn folder() -> crate::common::TempDir {
    let dir = crate::common::tempdir();
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples/obama.jpg");
    for name in NAMES {
        std::fs::copy(&photo, dir.path().join(name)).expect("copy");
    }
    dir
}

/// `mclcr analyze ARGS` run in `dir` (so that relative names start with what they hold);
/// its stdout, once it has succeeded.
fn analyze_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mclcr"))
        .args(["analyze", "--device", "cpu", "--no-progress"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_table_shows_control_characters_as_escapes() {
    let dir = folder();
    let stdout = analyze_in(dir.path(), &["."]);
    assert!(
        !stdout.contains('\u{1b}'),
        "a raw escape reached the terminal: {stdout}"
    );
    assert!(stdout.contains("esc\\x1b[2Jclear.jpg"), "{stdout}");
    assert!(stdout.contains("new\\nline.jpg"), "{stdout}");
    // One row per image (each has one face): no name broke its row in two.
    let rows = stdout.lines().filter(|l| l.contains(".jpg")).count();
    assert_eq!(rows, NAMES.len(), "{stdout}");
}

/// Splits CSV text into records of fields (quotes, doubled quotes, quoted line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => record.push(std::mem::take(&mut field)),
            '\n' if !quoted => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            c => field.push(c),
        }
    }
    records
}

#[test]
fn csv_neutralises_formulas_and_keeps_one_record_per_face() {
    let dir = folder();
    // Named relative to the working folder, the paths start with the hostile characters.
    let args: Vec<&str> = ["--csv", "--"].into_iter().chain(NAMES).collect();
    let stdout = analyze_in(dir.path(), &args);
    let records: Vec<Vec<String>> = parse_csv(&stdout)
        .into_iter()
        .filter(|r| !r[0].starts_with('#'))
        .collect();
    assert_eq!(records[0][0], "path");
    let rows = &records[1..];
    assert_eq!(rows.len(), NAMES.len(), "{stdout}");
    for (row, name) in rows.iter().zip(NAMES) {
        assert_eq!(row.len(), records[0].len(), "{row:?}");
        assert!(
            !row[0].starts_with(['=', '+', '-', '@']),
            "a formula start survived: {row:?}"
        );
        // The name is still there, after the neutralising quote where one was needed.
        assert!(
            row[0] == name || row[0] == format!("'{name}"),
            "{row:?} for {name:?}"
        );
    }
}

#[test]
fn json_lines_stay_valid_and_keep_the_real_names() {
    let dir = folder();
    let args: Vec<&str> = ["--json", "--"].into_iter().chain(NAMES).collect();
    let lines: Vec<serde_json::Value> = analyze_in(dir.path(), &args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "image")
        .filter_map(|l| l["path"].as_str())
        .collect();
    for name in NAMES {
        assert!(names.contains(&name), "{name:?} not in {names:?}");
    }
}

#[test]
fn the_html_report_escapes_markup_and_control_characters() {
    let info = RunInfo {
        model: "m@0".into(),
        trained: true,
        thresholds: [0.7, 0.3],
        device: "CPU".into(),
        version: "0".into(),
    };
    let reports: Vec<ImageReport> = NAMES
        .iter()
        .map(|name| {
            let mut report = ImageReport::failed(
                0,
                PathBuf::from(format!("/evidence/{name}")),
                format!("cannot read {name}"),
            );
            report.sha256 = Some("ab".into());
            report
        })
        .collect();
    let items: Vec<ReportItem<'_>> = reports
        .iter()
        .map(|report| ReportItem {
            report,
            thumbnail: None,
            views: Vec::new(),
            bookmark: None,
        })
        .collect();
    let page = html(&items, &info, "0", "2026-01-01");
    assert!(
        !page.contains("<script>alert"),
        "markup from a file name got through"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)"),
        "the name is shown, escaped"
    );
    assert!(
        !page.contains('\u{1b}'),
        "a raw control character in the report"
    );
    assert_eq!(page.matches("<h2>").count(), NAMES.len());
}
