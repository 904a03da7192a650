//! JPEG structure checks: is the file complete, and how hard was it compressed.
//!
//! Image decoders are lenient with truncated JPEGs (they fill the missing part with grey), so
//! completeness is checked on the marker structure itself: the entropy-coded data of the last
//! scan must be followed by an EOI marker. Quality is estimated from the luminance quantisation
//! table against the IJG reference table that libjpeg scales for its 1–100 quality setting.

use image::RgbImage;

/// IJG's reference luminance quantisation table (quality 50), natural order.
pub const IJG_LUMINANCE: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// One marker segment: its marker byte and payload range.
struct Segment {
    marker: u8,
    payload: std::ops::Range<usize>,
}

/// Walks the marker segments of a JPEG; `None` as soon as the structure is broken or ends early.
/// The last element is the EOI marker when the file is complete.
fn segments(bytes: &[u8]) -> Option<Vec<Segment>> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return None;
    }
    let mut out = Vec::new();
    let mut pos = 2;
    loop {
        // Skip fill bytes before a marker.
        while pos < bytes.len() && bytes[pos] == 0xFF && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if pos + 1 >= bytes.len() || bytes[pos] != 0xFF {
            return None;
        }
        let marker = bytes[pos + 1];
        match marker {
            0xD9 => {
                out.push(Segment {
                    marker,
                    payload: pos + 2..pos + 2,
                });
                return Some(out);
            }
            0x01 | 0xD0..=0xD7 => pos += 2,
            _ => {
                let length = u16::from_be_bytes([*bytes.get(pos + 2)?, *bytes.get(pos + 3)?]);
                let end = pos + 2 + length as usize;
                if length < 2 || end > bytes.len() {
                    return None;
                }
                out.push(Segment {
                    marker,
                    payload: pos + 4..end,
                });
                pos = end;
                if marker == 0xDA {
                    // Entropy-coded data: 0xFF is stuffed as FF 00; RSTn markers sit inside.
                    while pos + 1 < bytes.len() {
                        if bytes[pos] == 0xFF {
                            let next = bytes[pos + 1];
                            if next == 0x00 || (0xD0..=0xD7).contains(&next) {
                                pos += 2;
                                continue;
                            }
                            if next != 0xFF {
                                break;
                            }
                        }
                        pos += 1;
                    }
                }
            }
        }
    }
}

/// Whether a JPEG's marker structure is whole, up to its EOI marker.
pub fn is_complete(bytes: &[u8]) -> bool {
    segments(bytes).is_some_and(|s| s.last().is_some_and(|s| s.marker == 0xD9))
}

/// One quantisation table as the file stores it (zig-zag order).
#[derive(Debug, Clone, PartialEq)]
pub struct QuantTable {
    /// Table id (0: usually luminance, 1: chrominance).
    pub id: u8,
    /// The 64 values in zig-zag order.
    pub values: Vec<u16>,
}

/// The quantisation tables of a JPEG (later definitions of an id replace earlier ones); empty
/// when the file has none or cannot be parsed.
pub fn quantisation_tables(bytes: &[u8]) -> Vec<QuantTable> {
    let Some(segments) = segments(bytes) else {
        return Vec::new();
    };
    let mut tables: Vec<QuantTable> = Vec::new();
    for segment in segments.iter().filter(|s| s.marker == 0xDB) {
        let payload = &bytes[segment.payload.clone()];
        let mut pos = 0;
        while pos < payload.len() {
            let precision = payload[pos] >> 4;
            let id = payload[pos] & 0x0F;
            let size = if precision == 0 { 64 } else { 128 };
            let Some(raw) = payload.get(pos + 1..pos + 1 + size) else {
                break;
            };
            let values: Vec<u16> = if precision == 0 {
                raw.iter().map(|&v| v as u16).collect()
            } else {
                raw.chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect()
            };
            tables.retain(|t| t.id != id);
            tables.push(QuantTable { id, values });
            pos += 1 + size;
        }
    }
    tables.sort_by_key(|t| t.id);
    tables
}

/// Estimated IJG quality (1–100) from the first luminance quantisation table, `None` when the
/// file has none or cannot be parsed.
pub fn estimate_quality(bytes: &[u8]) -> Option<u8> {
    let tables = quantisation_tables(bytes);
    let table = tables.iter().find(|t| t.id == 0)?;
    Some(quality_of(&table.values))
}

/// The IJG quality whose scaling of the reference luminance table has the same mean as `table`.
pub fn quality_of(table: &[u16]) -> u8 {
    // The mean scaling against the reference table does not depend on coefficient order.
    let sum: f64 = table.iter().map(|&v| v as f64).sum();
    let reference: f64 = IJG_LUMINANCE.iter().map(|&v| v as f64).sum();
    let scale = 100.0 * sum / reference;
    let quality = if scale <= 100.0 {
        (200.0 - scale) / 2.0
    } else {
        5000.0 / scale
    };
    quality.round().clamp(1.0, 100.0) as u8
}

/// Re-encodes an image as JPEG at `quality` and decodes it again.
pub fn recompress(image: &RgbImage, quality: u8) -> RgbImage {
    let mut bytes = Vec::new();
    let encoded =
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100))
            .encode_image(image);
    match encoded
        .ok()
        .and_then(|_| image::load_from_memory(&bytes).ok())
    {
        Some(decoded) => decoded.to_rgb8(),
        None => image.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(quality: u8) -> Vec<u8> {
        let image = image::RgbImage::from_fn(48, 32, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 7) as u8, ((x * y) % 251) as u8])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&image)
            .unwrap();
        out
    }

    #[test]
    fn quality_estimate_follows_the_encoder_setting() {
        for q in [30u8, 50, 75, 90, 95] {
            let estimate = estimate_quality(&jpeg(q)).unwrap();
            assert!(
                (estimate as i32 - q as i32).abs() <= 3,
                "encoded at {q}, estimated {estimate}"
            );
        }
    }

    #[test]
    fn truncation_is_detected() {
        let bytes = jpeg(80);
        assert!(is_complete(&bytes));
        for cut in [bytes.len() - 1, bytes.len() / 2, 200, 3] {
            assert!(!is_complete(&bytes[..cut]), "cut at {cut}");
        }
        assert!(!is_complete(b"not a jpeg"));
    }

    #[test]
    fn recompress_keeps_size_and_changes_pixels() {
        let image = image::RgbImage::from_fn(48, 32, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 7) as u8, ((x * y) % 251) as u8])
        });
        let out = recompress(&image, 40);
        assert_eq!(out.dimensions(), image.dimensions());
        assert_ne!(out, image);
    }
}
