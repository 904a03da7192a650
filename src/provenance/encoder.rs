//! The JPEG encoder's signature: its quantisation tables, their estimated quality, and whether
//! they are libjpeg's standard (IJG) tables scaled for a quality setting — what libjpeg, the
//! `image` crate, PIL, OpenCV and ffmpeg write — or tables of the encoder's own, as cameras and
//! some editors use. A camera's EXIF on a file with library tables is a cheap sign that the file
//! was decoded and saved again by software (a re-save, not necessarily an edit).

use serde::Serialize;

use crate::imaging::jpeg::{self, IJG_LUMINANCE};

/// IJG's reference chrominance table (quality 50), natural order.
const IJG_CHROMINANCE: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// Zig-zag position → natural (row-major) position.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// What the quantisation tables say about the encoder.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EncoderSignature {
    /// Estimated IJG quality (1–100) of the luminance table.
    pub quality: u8,
    /// Number of tables.
    pub tables: usize,
    /// Whether all tables are IJG's standard tables at `standard_quality`.
    pub standard_ijg: bool,
    /// The exact IJG quality setting, when the tables are standard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_quality: Option<u8>,
    /// In words.
    pub description: String,
    /// A short fingerprint of the tables (SHA-256 prefix), to compare with a camera's files.
    pub fingerprint: String,
}

/// libjpeg's scaling of a reference table for `quality` (baseline: values clamped to 1–255).
fn ijg_scaled(reference: &[u16; 64], quality: u8) -> [u16; 64] {
    let q = quality.clamp(1, 100) as u32;
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    let mut out = [0u16; 64];
    for (o, &r) in out.iter_mut().zip(reference) {
        *o = ((r as u32 * scale + 50) / 100).clamp(1, 255) as u16;
    }
    out
}

/// A table in natural order from the file's zig-zag order.
fn natural(zigzag: &[u16]) -> Option<[u16; 64]> {
    let mut out = [0u16; 64];
    for (i, &v) in zigzag.iter().enumerate() {
        *out.get_mut(*ZIGZAG.get(i)?)? = v;
    }
    (zigzag.len() == 64).then_some(out)
}

/// The IJG quality at which every table matches IJG's (luminance for id 0, chrominance else).
fn standard_quality(tables: &[jpeg::QuantTable]) -> Option<u8> {
    let natural: Vec<(u8, [u16; 64])> = tables
        .iter()
        .map(|t| Some((t.id, natural(&t.values)?)))
        .collect::<Option<_>>()?;
    (1..=100u8).find(|&q| {
        let luma = ijg_scaled(&IJG_LUMINANCE, q);
        let chroma = ijg_scaled(&IJG_CHROMINANCE, q);
        natural.iter().all(|(id, table)| {
            let reference = if *id == 0 { &luma } else { &chroma };
            table == reference
        })
    })
}

/// The encoder signature of a JPEG; `None` without quantisation tables.
pub(super) fn read(bytes: &[u8]) -> Option<EncoderSignature> {
    let tables = jpeg::quantisation_tables(bytes);
    let luma = tables.iter().find(|t| t.id == 0)?;
    let quality = jpeg::quality_of(&luma.values);
    let standard = standard_quality(&tables);
    let mut all = Vec::new();
    for t in &tables {
        all.push(t.id as u16);
        all.extend_from_slice(&t.values);
    }
    let raw: Vec<u8> = all.iter().flat_map(|v| v.to_be_bytes()).collect();
    let fingerprint = crate::weights::assets::sha256_bytes(&raw)[..12].to_string();
    let description = match standard {
        Some(q) => format!(
            "standard IJG tables at quality {q} (libjpeg and the libraries built on it: a re-save by software, or a phone or app that uses them)"
        ),
        None => format!(
            "encoder's own tables, about quality {quality} (cameras and some editors use their own)"
        ),
    };
    Some(EncoderSignature {
        quality,
        tables: tables.len(),
        standard_ijg: standard.is_some(),
        standard_quality: standard,
        description,
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(quality: u8) -> Vec<u8> {
        let image = image::RgbImage::from_fn(32, 32, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 5) as u8, 90])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&image)
            .unwrap();
        out
    }

    #[test]
    fn library_tables_are_recognised_as_standard() {
        for q in [50u8, 75, 90] {
            let s = read(&jpeg(q)).unwrap();
            assert!(s.standard_ijg, "quality {q}: {s:?}");
            assert_eq!(s.standard_quality, Some(q));
        }
    }

    #[test]
    fn custom_tables_are_not() {
        let mut bytes = jpeg(90);
        // Change one coefficient of the first table (DQT payload starts after FFDB, length, Pq/Tq).
        let dqt = bytes.windows(2).position(|w| w == [0xFF, 0xDB]).unwrap();
        bytes[dqt + 5 + 10] = bytes[dqt + 5 + 10].wrapping_add(3);
        let s = read(&bytes).unwrap();
        assert!(!s.standard_ijg, "{s:?}");
        assert!(s.description.contains("own tables"));
    }
}
