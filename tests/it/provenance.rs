//! The file's own testimony end to end: `mclcr analyze` on files built here (a JPEG with a stale
//! EXIF thumbnail and its untouched twin, a JPEG whose XMP declares AI generation, a PNG with a
//! generator's text chunk, hostile metadata) and on a C2PA-signed JPEG, each finding named in
//! the JSON, the table, the CSV and the HTML report.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use exif::experimental::Writer;
use exif::{Field, In, Tag, Value};
use image::RgbImage;
use image::imageops::{self, FilterType};
use mclcr::analysis::ImageReport;
use mclcr::export::html::{ReportItem, html};
use mclcr::export::records::RunInfo;
use mclcr::provenance::FileEvidence;

fn sample() -> RgbImage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples/obama.jpg");
    image::open(path).expect("sample decodes").to_rgb8()
}

fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .expect("encodes");
    out
}

/// `jpeg` with an APP1 segment (`payload`) right after SOI.
fn with_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    let length = u16::try_from(payload.len() + 2).expect("segment fits");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A camera's EXIF block (make, model, times) with `thumbnail` as its IFD1 JPEG.
fn camera_exif(thumbnail: &[u8]) -> Vec<u8> {
    let ascii = |tag, v: &str| Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![v.as_bytes().to_vec()]),
    };
    let fields = [
        ascii(Tag::Make, "NIKON CORPORATION"),
        ascii(Tag::Model, "NIKON D750"),
        ascii(Tag::DateTimeOriginal, "2016:06:01 12:00:00"),
        ascii(Tag::DateTime, "2016:06:01 12:00:00"),
    ];
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    writer.set_jpeg(thumbnail, In::THUMBNAIL);
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).expect("EXIF writes");
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff.into_inner());
    payload
}

fn xmp_packet(source_type: &str) -> Vec<u8> {
    let mut payload = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    payload.extend_from_slice(format!(
        r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
 xmp:CreatorTool="Adobe Photoshop 25.0 (Windows)"
 Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/{source_type}"/>
</rdf:RDF></x:xmpmeta>"#
    ).as_bytes());
    payload
}

fn png_with_text(image: &RgbImage, keyword: &str, text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, image.width(), image.height());
        encoder.set_color(png::ColorType::Rgb);
        encoder
            .add_text_chunk(keyword.to_string(), text.to_string())
            .expect("text chunk");
        let mut writer = encoder.write_header().expect("header");
        writer.write_image_data(image.as_raw()).expect("data");
    }
    out
}

/// The C2PA-signed fixture (from the `c2pa` crate's own tests; see tests/fixtures/provenance).
fn c2pa_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/provenance/c2pa-signed.jpg")
}

/// Writes the test files; returns the folder.
fn files() -> crate::common::TempDir {
    let dir = crate::common::tempdir();
    let original = sample();
    let (w, h) = original.dimensions();
    let thumb = imageops::resize(&original, 160, (160 * h / w).max(1), FilterType::Triangle);
    let thumb_jpeg = jpeg(&thumb, 85);
    // An edit after capture: a block over the upper left of the picture, the thumbnail left
    // as the camera wrote it.
    let mut edited = original.clone();
    for y in h / 10..h / 2 {
        for x in w / 10..w / 2 {
            edited.put_pixel(x, y, image::Rgb([235, 235, 235]));
        }
    }
    let write =
        |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).expect("write");
    write(
        "stale-thumbnail.jpg",
        &with_app1(&jpeg(&edited, 92), &camera_exif(&thumb_jpeg)),
    );
    write(
        "camera-original.jpg",
        &with_app1(&jpeg(&original, 92), &camera_exif(&thumb_jpeg)),
    );
    write(
        "declares-ai.jpg",
        &with_app1(&jpeg(&original, 92), &xmp_packet("trainedAlgorithmicMedia")),
    );
    write(
        "prompt.png",
        &png_with_text(
            &thumb,
            "parameters",
            "portrait of a senator, Steps: 30, Sampler: DPM++",
        ),
    );
    // Hostile metadata: a 3 MB XMP packet (split over APP1 segments it would not fit in one),
    // a broken EXIF block, an XMP packet nested 8,000 deep.
    let mut huge = b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 3 << 20));
    huge.extend_from_slice(b"</x:xmpmeta>");
    let mut bytes = jpeg(&thumb, 90);
    let tail = bytes.split_off(bytes.len() - 2);
    bytes.extend_from_slice(&huge); // after the image data, before EOI
    bytes.extend_from_slice(&tail);
    write("huge-xmp.jpg", &bytes);
    write(
        "broken-exif.jpg",
        &with_app1(
            &jpeg(&thumb, 90),
            b"Exif\0\0MM\0\x2a\xff\xff\xff\xf0garbage",
        ),
    );
    let depth = 8_000; // as deep as one 64 KiB APP1 segment holds
    let mut deep = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">".to_vec();
    deep.extend("<a>".repeat(depth).as_bytes());
    deep.extend("</a>".repeat(depth).as_bytes());
    deep.extend_from_slice(b"</x:xmpmeta>");
    write("deep-xmp.jpg", &with_app1(&jpeg(&thumb, 90), &deep));
    let signed = std::fs::read(c2pa_fixture()).expect("fixture");
    write("c2pa-signed.jpg", &signed);
    // The same file with one character of its XMP changed after signing.
    let at = signed
        .windows(18)
        .position(|w| w == b"Adobe XMP Core 6.0")
        .expect("the fixture has XMP");
    let mut tampered = signed.clone();
    tampered[at + 17] = b'1';
    write("c2pa-tampered.jpg", &tampered);
    dir
}

fn analyze(dir: &Path, format: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mclcr"))
        .args([
            "analyze",
            "--device",
            "cpu",
            "--no-progress",
            "--format",
            format,
        ])
        .arg(dir)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON record of the image named `name`.
fn record<'a>(records: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    records
        .iter()
        .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("no record for {name}"))
}

fn findings(record: &serde_json::Value) -> Vec<String> {
    record["file"]["findings"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|f| f["finding"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn analyze_reports_each_finding_in_every_format() {
    let dir = files();
    let json = analyze(dir.path(), "json");
    let records: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .filter(|r: &serde_json::Value| r["type"] == "image")
        .collect();
    assert_eq!(records.len(), 9, "{json}");

    let stale = record(&records, "stale-thumbnail.jpg");
    assert!(
        findings(stale).contains(&"thumbnail_mismatch".into()),
        "{stale}"
    );
    assert_eq!(stale["file"]["exif"]["model"], "NIKON D750");
    let twin = record(&records, "camera-original.jpg");
    assert!(
        !findings(twin).contains(&"thumbnail_mismatch".into()),
        "{twin}"
    );
    assert!(
        twin["file"]["thumbnail"]["mean_difference"]
            .as_f64()
            .unwrap()
            < 12.0
    );

    let ai = record(&records, "declares-ai.jpg");
    let f = findings(ai);
    assert!(f.contains(&"ai_generated_declared".into()), "{ai}");
    assert!(f.contains(&"edited_with".into()), "{ai}");
    // The face is still scored: the declared origin sits beside the network's verdict.
    assert!(!ai["faces"].as_array().unwrap().is_empty(), "{ai}");

    let png = record(&records, "prompt.png");
    assert!(
        findings(png).contains(&"ai_generated_declared".into()),
        "{png}"
    );
    assert_eq!(png["file"]["png_text"][0]["keyword"], "parameters");

    let c2pa = record(&records, "c2pa-signed.jpg");
    let credentials = &c2pa["file"]["content_credentials"];
    assert!(credentials.is_object(), "{c2pa}");
    assert!(credentials["signer"].is_string(), "{c2pa}");
    // Signed by Adobe's C2PA staging certificate; its CAWG identity assertion needs an online
    // lookup, which is noted apart and does not invalidate the claim.
    assert!(findings(c2pa).contains(&"c2pa_signed".into()), "{c2pa}");
    assert_eq!(credentials["validation"], "valid", "{c2pa}");

    let tampered = record(&records, "c2pa-tampered.jpg");
    assert!(
        findings(tampered).contains(&"c2pa_invalid".into()),
        "{tampered}"
    );

    // Hostile metadata: each file still analysed, each problem a note.
    for name in ["huge-xmp.jpg", "broken-exif.jpg", "deep-xmp.jpg"] {
        let r = record(&records, name);
        assert!(r["error"].is_null(), "{r}");
    }
    let huge = record(&records, "huge-xmp.jpg");
    assert!(
        huge["file"]["notes"][0].as_str().unwrap().contains("XMP"),
        "{huge}"
    );
    let broken = record(&records, "broken-exif.jpg");
    assert!(
        broken["file"]["notes"][0]
            .as_str()
            .unwrap()
            .contains("EXIF"),
        "{broken}"
    );

    let table = analyze(dir.path(), "table");
    assert!(table.contains("file: EXIF thumbnail mismatch"), "{table}");
    assert!(
        table.contains("file: the file declares AI generation"),
        "{table}"
    );
    let csv = analyze(dir.path(), "csv");
    assert!(
        csv.lines().next().unwrap().ends_with(",file_findings"),
        "{csv}"
    );
    assert!(csv.contains("thumbnail_mismatch"), "{csv}");
}

#[test]
fn the_html_report_has_a_file_section() {
    let original = sample();
    let bytes = with_app1(&jpeg(&original, 92), &xmp_packet("trainedAlgorithmicMedia"));
    let mut report = ImageReport::failed(0, PathBuf::from("declares-ai.jpg"), String::new());
    report.error = None;
    report.file = Some(FileEvidence::read(&bytes, "JPEG", &original, None));
    let info = RunInfo {
        model: "m@0".into(),
        trained: true,
        thresholds: [0.3, 0.7],
        device: "CPU".into(),
        version: "0".into(),
    };
    let items = [ReportItem {
        report: &report,
        thumbnail: None,
        views: Vec::new(),
        bookmark: None,
    }];
    let page = html(&items, &info, "0", "2026-01-01");
    assert!(
        page.contains("<code>ai_generated_declared</code>"),
        "{page}"
    );
    assert!(page.contains("declared origin"), "{page}");
    assert!(page.contains("Adobe Photoshop 25.0"), "{page}");
    assert!(page.contains("missing metadata proves nothing"), "{page}");
}
