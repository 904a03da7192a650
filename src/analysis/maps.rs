//! Explanation maps of scored faces written as PNG files (`mclcr analyze --maps`).

use std::path::{Path, PathBuf};

use super::decode::DecodedImage;
use crate::atomic_file;
use crate::imaging::heatmap;
use crate::inference::scorer::FaceScore;

/// Writes each face's maps as PNGs; returns the files per face. A write failure is reported on
/// stderr and leaves that face without maps; it does not stop the scan.
pub(crate) fn write_maps(
    dir: &Path,
    path: &Path,
    image: &DecodedImage,
    scores: &[FaceScore],
    side: u32,
) -> Vec<Vec<PathBuf>> {
    let stem: String = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let prefix = format!("{stem}-{}", &image.sha256[..8.min(image.sha256.len())]);
    image
        .faces
        .iter()
        .zip(scores)
        .enumerate()
        .map(|(k, (found, score))| {
            let face = image::imageops::resize(
                &found.crop,
                side,
                side,
                image::imageops::FilterType::CatmullRom,
            );
            let cell = (side as usize / score.gram_side.max(1)).max(1) as u32;
            let views = [
                (
                    "amplitude",
                    heatmap::overlay(&face, &score.amplitude_map, score.grid, 0.55),
                ),
                (
                    "phase",
                    heatmap::overlay(&face, &score.phase_map, score.grid, 0.55),
                ),
                (
                    "style1",
                    heatmap::matrix(&score.grams[0], score.gram_side, cell),
                ),
                (
                    "style2",
                    heatmap::matrix(&score.grams[1], score.gram_side, cell),
                ),
                (
                    "style3",
                    heatmap::matrix(&score.grams[2], score.gram_side, cell),
                ),
            ];
            let mut written = Vec::new();
            for (name, picture) in views {
                let file = dir.join(format!("{prefix}-face{}-{name}.png", k + 1));
                let saved = atomic_file::write_with(&file, |out| {
                    picture
                        .write_to(out, image::ImageFormat::Png)
                        .map_err(std::io::Error::other)
                });
                match saved {
                    Ok(()) => written.push(file),
                    Err(e) => eprintln!("mclcr: {e}"),
                }
            }
            written
        })
        .collect()
}
