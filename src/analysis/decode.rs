//! One file read, decoded and cut into face crops, with the flags that follow from the file
//! alone (no face, many faces, small face, heavy compression); runs on the pipeline's workers.

use std::path::{Path, PathBuf};

use image::RgbImage;

use super::options::{MAX_FACES_PER_IMAGE, ScanOptions};
use super::verdict::Flag;
use crate::imaging::evidence;
use crate::imaging::face_finder::{FaceFinder, FoundFace};
use crate::imaging::faces::Detector;
use crate::imaging::scale::fit_longest_side;
use crate::provenance::FileEvidence;

/// A decoded image with its face crops, on its way to the model.
pub(crate) struct Decoded {
    pub index: usize,
    pub path: PathBuf,
    pub result: Result<DecodedImage, String>,
}

/// What a worker learnt from one file.
pub struct DecodedImage {
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// The container format.
    pub format: &'static str,
    /// Width in pixels, orientation applied.
    pub width: u32,
    /// Height in pixels, orientation applied.
    pub height: u32,
    /// Estimated JPEG quality, JPEG only.
    pub jpeg_quality: Option<u8>,
    /// The faces found, most confident first, with their crops.
    pub faces: Vec<FoundFace>,
    /// Flags that follow from the file alone.
    pub flags: Vec<Flag>,
    /// The thumbnail, when the options ask for one.
    pub thumbnail: Option<RgbImage>,
    pub file: FileEvidence,
}

/// Everything a dropped file goes through before the network: the read within the limits,
/// decoding, EXIF orientation, the JPEG quality estimate, face detection, the crops, the file's
/// flags and the thumbnail. Every failure is a one-line message; no input makes it panic (the
/// fuzz test in `tests/it/fuzz` holds it to that).
pub fn decode_one(
    path: &Path,
    options: &ScanOptions,
    finder: &mut FaceFinder,
    min_face_side: u32,
) -> Result<DecodedImage, String> {
    let bytes = evidence::read_file(path, &options.limits).map_err(|e| e.to_string())?;
    let loaded = evidence::load_bytes(path, &bytes, &options.limits).map_err(|e| e.to_string())?;
    let file = FileEvidence::read(
        &bytes,
        loaded.format,
        &loaded.rgb,
        loaded.icc_profile.as_deref(),
    );
    drop(bytes);
    let (width, height) = loaded.rgb.dimensions();
    let faces = finder
        .find(
            &loaded.rgb,
            options.whole_image,
            options.margin,
            MAX_FACES_PER_IMAGE,
        )
        .map_err(|e| e.to_string())?;
    let mut flags = Vec::new();
    if faces.is_empty() {
        flags.push(Flag::NoFace);
    }
    if !faces.is_empty()
        && faces.iter().all(|f| {
            f.detected
                .as_ref()
                .is_some_and(|d| d.detector == Detector::BlazeFace)
        })
    {
        flags.push(Flag::FallbackDetector);
    }
    if faces.len() >= options.flag_rules.many_faces {
        flags.push(Flag::ManyFaces { count: faces.len() });
    }
    if let Some(side) = faces
        .iter()
        .map(|face| face.crop_box.width.min(face.crop_box.height))
        .filter(|&side| side < min_face_side)
        .min()
    {
        flags.push(Flag::SmallFace {
            side,
            input: min_face_side,
        });
    }
    if let Some(quality) = loaded.jpeg_quality
        && quality < options.flag_rules.heavy_jpeg_below
    {
        flags.push(Flag::HeavyCompression { quality });
    }
    let thumbnail = options.thumbnail.map(|side| {
        let (w, h) = fit_longest_side(width, height, side);
        image::imageops::thumbnail(&loaded.rgb, w, h)
    });
    Ok(DecodedImage {
        sha256: loaded.sha256,
        format: loaded.format,
        width,
        height,
        jpeg_quality: loaded.jpeg_quality,
        faces,
        flags,
        thumbnail,
        file,
    })
}
