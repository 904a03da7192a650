//! EXIF: camera, lens, software, the three timestamps, GPS, orientation and the embedded
//! thumbnail, read with the `kamadak-exif` crate (JPEG, TIFF, PNG `eXIf`, WebP).

use std::io::Cursor;

use exif::{Exif, Field, In, Reader, Tag, Value};
use serde::Serialize;

/// Largest embedded thumbnail read (cameras write 5–60 KB).
const MAX_THUMBNAIL_BYTES: usize = 1 << 20;
/// Longest text value kept.
const MAX_TEXT: usize = 512;

/// EXIF facts, each present only when the file has it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExifFacts {
    /// Camera maker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    /// Camera model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Lens model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lens: Option<String>,
    /// The software that wrote the file (camera firmware or an editor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// The person named as author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artist: Option<String>,
    /// When the picture was taken (`DateTimeOriginal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taken: Option<String>,
    /// When it was digitised (`DateTimeDigitized`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digitised: Option<String>,
    /// When the file was last changed (`DateTime`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Where it was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gps: Option<Gps>,
    /// EXIF orientation (1–8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u16>,
}

/// A GPS position in decimal degrees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gps {
    /// Latitude, north positive.
    pub latitude: f64,
    /// Longitude, east positive.
    pub longitude: f64,
    /// A map link the user can copy (OpenStreetMap).
    pub map_link: String,
}

/// EXIF facts and the embedded thumbnail's bytes.
pub(super) struct ExifRead {
    pub facts: ExifFacts,
    pub thumbnail_jpeg: Option<Vec<u8>>,
}

/// Reads the EXIF block; `Ok(None)` when the file has none.
pub(super) fn read(bytes: &[u8]) -> Result<Option<ExifRead>, String> {
    let exif = match Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => exif,
        Err(exif::Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(format!("malformed ({e})")),
    };
    let facts = ExifFacts {
        make: text(&exif, Tag::Make),
        model: text(&exif, Tag::Model),
        lens: text(&exif, Tag::LensModel),
        software: text(&exif, Tag::Software),
        artist: text(&exif, Tag::Artist),
        taken: text(&exif, Tag::DateTimeOriginal),
        digitised: text(&exif, Tag::DateTimeDigitized),
        modified: text(&exif, Tag::DateTime),
        gps: gps(&exif),
        orientation: exif
            .get_field(Tag::Orientation, In::PRIMARY)
            .and_then(|f| f.value.get_uint(0))
            .and_then(|v| u16::try_from(v).ok())
            .filter(|v| (1..=8).contains(v)),
    };
    Ok(Some(ExifRead {
        facts,
        thumbnail_jpeg: thumbnail(&exif),
    }))
}

fn field(exif: &Exif, tag: Tag) -> Option<&Field> {
    exif.get_field(tag, In::PRIMARY)
}

/// An ASCII (or UTF-8) value, trimmed, NULs removed, `None` when empty.
fn text(exif: &Exif, tag: Tag) -> Option<String> {
    let Value::Ascii(parts) = &field(exif, tag)?.value else {
        return None;
    };
    let joined: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    let s: String = String::from_utf8_lossy(&joined)
        .chars()
        .filter(|c| *c != '\0')
        .take(MAX_TEXT)
        .collect();
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Degrees, minutes, seconds as a decimal number.
fn degrees(exif: &Exif, tag: Tag) -> Option<f64> {
    let Value::Rational(parts) = &field(exif, tag)?.value else {
        return None;
    };
    let part = |i: usize| parts.get(i).map(|r| r.to_f64()).unwrap_or(0.0);
    let value = part(0) + part(1) / 60.0 + part(2) / 3600.0;
    value.is_finite().then_some(value)
}

fn gps(exif: &Exif) -> Option<Gps> {
    let mut latitude = degrees(exif, Tag::GPSLatitude)?;
    let mut longitude = degrees(exif, Tag::GPSLongitude)?;
    if text(exif, Tag::GPSLatitudeRef).is_some_and(|r| r.starts_with('S')) {
        latitude = -latitude;
    }
    if text(exif, Tag::GPSLongitudeRef).is_some_and(|r| r.starts_with('W')) {
        longitude = -longitude;
    }
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return None;
    }
    Some(Gps {
        latitude,
        longitude,
        map_link: format!(
            "https://www.openstreetmap.org/?mlat={latitude:.6}&mlon={longitude:.6}#map=16/{latitude:.6}/{longitude:.6}"
        ),
    })
}

/// The JPEG thumbnail in IFD1 (offsets count from the TIFF header, which `Exif::buf` holds).
fn thumbnail(exif: &Exif) -> Option<Vec<u8>> {
    let offset = exif
        .get_field(Tag::JPEGInterchangeFormat, In::THUMBNAIL)?
        .value
        .get_uint(0)? as usize;
    let length = exif
        .get_field(Tag::JPEGInterchangeFormatLength, In::THUMBNAIL)?
        .value
        .get_uint(0)? as usize;
    if length == 0 || length > MAX_THUMBNAIL_BYTES {
        return None;
    }
    exif.buf()
        .get(offset..offset.checked_add(length)?)
        .map(<[u8]>::to_vec)
}

/// Seconds since an arbitrary epoch from an EXIF time ("YYYY:MM:DD HH:MM:SS"), for comparing
/// two times of one file.
pub(super) fn seconds(time: &str) -> Option<i64> {
    let digits: Vec<i64> = time
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [year, month, day, hour, minute, second, ..] = digits[..] else {
        return None;
    };
    if year == 0 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = year * 372 + (month - 1) * 31 + (day - 1);
    Some(((days * 24 + hour) * 60 + minute) * 60 + second)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use exif::Rational;
    use exif::experimental::Writer;

    /// A TIFF-structured EXIF block with the given ASCII fields and an optional thumbnail.
    pub fn exif_block(fields: &[(Tag, &str)], thumbnail: Option<&[u8]>) -> Vec<u8> {
        let fields: Vec<Field> = fields
            .iter()
            .map(|(tag, v)| Field {
                tag: *tag,
                ifd_num: In::PRIMARY,
                value: Value::Ascii(vec![v.as_bytes().to_vec()]),
            })
            .collect();
        let lat = Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 48, denom: 1 },
                Rational { num: 51, denom: 1 },
                Rational { num: 30, denom: 1 },
            ]),
        };
        let lon = Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 2, denom: 1 },
                Rational { num: 17, denom: 1 },
                Rational { num: 40, denom: 1 },
            ]),
        };
        let mut writer = Writer::new();
        for f in &fields {
            writer.push_field(f);
        }
        writer.push_field(&lat);
        writer.push_field(&lon);
        if let Some(jpeg) = thumbnail {
            writer.set_jpeg(jpeg, In::THUMBNAIL);
        }
        let mut out = Cursor::new(Vec::new());
        writer.write(&mut out, false).unwrap();
        out.into_inner()
    }

    /// `jpeg` with an APP1 Exif segment inserted after SOI.
    pub fn with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(tiff);
        super::super::xmp::tests::with_app1(jpeg, &payload)
    }

    pub fn small_jpeg(w: u32, h: u32, quality: u8) -> Vec<u8> {
        let image = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 3) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&image)
            .unwrap();
        out
    }

    #[test]
    fn reads_camera_software_times_and_gps() {
        let tiff = exif_block(
            &[
                (Tag::Make, "Canon"),
                (Tag::Model, "Canon EOS 5D"),
                (Tag::Software, "Adobe Photoshop 25.0"),
                (Tag::DateTimeOriginal, "2019:05:01 10:00:00"),
                (Tag::DateTime, "2023:02:03 04:05:06"),
            ],
            None,
        );
        let bytes = with_exif(&small_jpeg(32, 24, 90), &tiff);
        let read = read(&bytes).unwrap().unwrap();
        let f = read.facts;
        assert_eq!(f.make.as_deref(), Some("Canon"));
        assert_eq!(f.model.as_deref(), Some("Canon EOS 5D"));
        assert_eq!(f.software.as_deref(), Some("Adobe Photoshop 25.0"));
        assert_eq!(f.taken.as_deref(), Some("2019:05:01 10:00:00"));
        let gps = f.gps.unwrap();
        assert!((gps.latitude - 48.858333).abs() < 1e-4, "{gps:?}");
        assert!(gps.map_link.contains("mlat=48.858"));
        assert!(read.thumbnail_jpeg.is_none());
    }

    #[test]
    fn no_exif_is_none_and_garbage_is_a_note() {
        assert!(read(&small_jpeg(16, 16, 90)).unwrap().is_none());
        let bad = with_exif(&small_jpeg(16, 16, 90), b"MM\0\x2a\xff\xff\xff\xff");
        assert!(read(&bad).is_err());
    }

    #[test]
    fn times_compare() {
        let a = seconds("2019:05:01 10:00:00").unwrap();
        let b = seconds("2019:05:01 10:00:05").unwrap();
        assert_eq!(b - a, 5);
        assert!(seconds("    :  :     :  :  ").is_none());
    }
}
