//! Reading evidence: image files opened read-only, decoded within limits, hashed once.
//!
//! Supported: JPEG (baseline, progressive, CMYK; EXIF orientation applied), PNG (8/16-bit,
//! alpha, palette), WebP, TIFF, BMP, GIF (first frame), grayscale variants. Everything else, and
//! every file that is empty, truncated or not an image, gives one [`LoadError`] that says what
//! is wrong. The SHA-256 is computed from the very bytes that were decoded. Files are never
//! written.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use image::{ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};
use serde::{Deserialize, Serialize};

use crate::imaging::jpeg;
use crate::weights::assets::sha256_bytes;

/// Caps against decompression bombs and oversized files.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadLimits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest width or height, in pixels.
    pub max_side: u32,
    /// Largest decoder allocation, in bytes.
    pub max_alloc: u64,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 256 << 20,
            max_side: 16_384,
            max_alloc: 1 << 30,
        }
    }
}

/// Why an image file could not be read. Every message is one line, meant for the user.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    /// The file could not be opened or read.
    #[error("cannot read file: {0}")]
    Io(String),
    /// Zero bytes.
    #[error("empty file (0 bytes)")]
    Empty,
    /// Over the file size cap.
    #[error("file is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// File size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// A known format that mclcr does not decode (HEIC, AVIF, …).
    #[error("unsupported image format: {0} (convert it to JPEG or PNG)")]
    Unsupported(String),
    /// Not recognisable as an image.
    #[error("not an image (content not recognised as JPEG, PNG, WebP, TIFF, BMP or GIF)")]
    NotAnImage,
    /// The file ends before the image does.
    #[error("truncated {0} file (the image data ends early)")]
    Truncated(&'static str),
    /// Dimensions or memory over the limits.
    #[error("image too large to decode safely: {0}")]
    Limits(String),
    /// The decoder rejected the content.
    #[error("corrupt or undecodable {format} file: {message}")]
    Decode {
        /// The format.
        format: &'static str,
        /// The decoder's message.
        message: String,
    },
}

/// A decoded evidence image.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    /// Where it came from.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// File size in bytes.
    pub bytes: u64,
    /// The container format.
    pub format: &'static str,
    /// RGB pixels, EXIF orientation applied.
    pub rgb: RgbImage,
    /// Estimated JPEG quality (IJG scale) from the quantisation tables, JPEG only.
    pub jpeg_quality: Option<u8>,
    /// The embedded ICC colour profile, as the decoder found it.
    pub icc_profile: Option<Vec<u8>>,
}

/// Reads and decodes one image file.
pub fn load(path: &Path, limits: &LoadLimits) -> Result<LoadedImage, LoadError> {
    let bytes = read_file(path, limits)?;
    load_bytes(path, &bytes, limits)
}

/// Reads a file's bytes read-only, within the size limit.
pub fn read_file(path: &Path, limits: &LoadLimits) -> Result<Vec<u8>, LoadError> {
    read_capped(path, limits.max_file_bytes)
}

/// Decodes the bytes [`read_file`] read from `path`.
pub fn load_bytes(
    path: &Path,
    bytes: &[u8],
    limits: &LoadLimits,
) -> Result<LoadedImage, LoadError> {
    let (rgb, format, jpeg_quality, icc_profile) = decode_with_profile(bytes, limits)?;
    Ok(LoadedImage {
        path: path.to_path_buf(),
        sha256: sha256_bytes(bytes),
        bytes: bytes.len() as u64,
        format,
        rgb,
        jpeg_quality,
        icc_profile,
    })
}

fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, LoadError> {
    // File::open opens read-only: evidence is never modified.
    let file = std::fs::File::open(path).map_err(|e| LoadError::Io(e.to_string()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > cap {
        return Err(LoadError::TooLarge { size, limit: cap });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError::Io(e.to_string()))?;
    if bytes.len() as u64 > cap {
        return Err(LoadError::TooLarge {
            size: bytes.len() as u64,
            limit: cap,
        });
    }
    if bytes.is_empty() {
        return Err(LoadError::Empty);
    }
    Ok(bytes)
}

/// Formats mclcr decodes, by name.
fn format_name(format: ImageFormat) -> Option<&'static str> {
    Some(match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Gif => "GIF",
        _ => return None,
    })
}

/// Recognises formats we know of but do not decode, from their magic bytes.
fn sniff_unsupported(bytes: &[u8]) -> Option<String> {
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = String::from_utf8_lossy(&bytes[8..12]).to_string();
        let name = match brand.as_str() {
            "heic" | "heix" | "hevc" | "heim" | "heis" | "mif1" | "msf1" => "HEIC/HEIF",
            "avif" | "avis" => "AVIF",
            _ => return Some(format!("ISO media ('{brand}')")),
        };
        return Some(name.to_string());
    }
    if let Ok(format) = image::guess_format(bytes)
        && format_name(format).is_none()
    {
        return Some(format!("{format:?}"));
    }
    None
}

/// Decodes bytes into RGB with the orientation applied; also estimates JPEG quality.
pub fn decode(
    bytes: &[u8],
    limits: &LoadLimits,
) -> Result<(RgbImage, &'static str, Option<u8>), LoadError> {
    decode_with_profile(bytes, limits).map(|(rgb, format, quality, _)| (rgb, format, quality))
}

/// Pixels, format, estimated JPEG quality and the embedded ICC profile of one decode.
type DecodedParts = (RgbImage, &'static str, Option<u8>, Option<Vec<u8>>);

/// [`decode`], also giving the embedded ICC profile read by the same decoder.
fn decode_with_profile(bytes: &[u8], limits: &LoadLimits) -> Result<DecodedParts, LoadError> {
    if let Some(name) = sniff_unsupported(bytes) {
        return Err(LoadError::Unsupported(name));
    }
    let format = image::guess_format(bytes).map_err(|_| LoadError::NotAnImage)?;
    let name = format_name(format).ok_or(LoadError::NotAnImage)?;
    let jpeg_quality = if format == ImageFormat::Jpeg {
        if !jpeg::is_complete(bytes) {
            return Err(LoadError::Truncated(name));
        }
        jpeg::estimate_quality(bytes)
    } else {
        None
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let classify = |e: image::ImageError| match e {
        image::ImageError::Limits(l) => LoadError::Limits(l.to_string()),
        image::ImageError::Unsupported(u) => LoadError::Unsupported(u.to_string()),
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            LoadError::Truncated(name)
        }
        other => {
            let message = other.to_string();
            if message.contains("EOF") || message.to_lowercase().contains("unexpected end") {
                LoadError::Truncated(name)
            } else {
                LoadError::Decode {
                    format: name,
                    message,
                }
            }
        }
    };
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (w, h) = decoder.dimensions();
    if w > limits.max_side || h > limits.max_side {
        return Err(LoadError::Limits(format!(
            "{w}×{h} pixels, over the {0}×{0} limit",
            limits.max_side
        )));
    }
    if w == 0 || h == 0 {
        return Err(LoadError::Decode {
            format: name,
            message: "zero-sized image".into(),
        });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    // A profile the decoder cannot read is no reason to refuse the picture.
    let icc_profile = decoder.icc_profile().ok().flatten();
    let mut image = image::DynamicImage::from_decoder(decoder).map_err(classify)?;
    image.apply_orientation(orientation);
    Ok((image.to_rgb8(), name, jpeg_quality, icc_profile))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(image: &image::DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn decodes_16_bit_and_alpha_png_to_rgb() {
        let img = image::DynamicImage::ImageRgba16(image::ImageBuffer::from_pixel(
            5,
            3,
            image::Rgba([65535u16, 0, 32768, 100]),
        ));
        let (rgb, format, quality) = decode(&png_bytes(&img), &LoadLimits::default()).unwrap();
        assert_eq!(format, "PNG");
        assert_eq!(quality, None);
        assert_eq!(rgb.dimensions(), (5, 3));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 0, 128]);
    }

    #[test]
    fn text_is_not_an_image_and_heic_is_unsupported() {
        let limits = LoadLimits::default();
        assert_eq!(
            decode(b"hello, world", &limits).unwrap_err(),
            LoadError::NotAnImage
        );
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert!(
            matches!(decode(heic, &limits), Err(LoadError::Unsupported(s)) if s.contains("HEIC"))
        );
    }

    #[test]
    fn dimension_limits_are_enforced() {
        let img = image::DynamicImage::new_rgb8(64, 8);
        let limits = LoadLimits {
            max_side: 32,
            ..LoadLimits::default()
        };
        assert!(matches!(
            decode(&png_bytes(&img), &limits),
            Err(LoadError::Limits(_))
        ));
    }
}
