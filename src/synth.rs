//! `mclcr synth`: self-blended pairs written to a folder, so that a person can look at what the
//! training data is made of.

use std::process::ExitCode;

use anyhow::Context;
use image::imageops::FilterType;

use crate::cli::SynthArgs;
use crate::evidence::{self, LoadLimits};
use crate::faces::{self, DetectorSettings, FaceBox, FaceDetector};
use crate::rng::Rng;
use crate::scan;
use crate::selfblend::{SelfBlendConfig, ellipse_hull, self_blend};

/// Runs the command; exit code 1 when some inputs could not be used.
pub fn run(args: &SynthArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let size = args.size.clamp(32, 2048);
    let mut detector = FaceDetector::new(DetectorSettings::default())?;
    let config = SelfBlendConfig::default();
    let (mut written, mut failed) = (0usize, 0usize);
    for (index, (path, error)) in scan::collect_inputs(&args.inputs).into_iter().enumerate() {
        let image = match error.map(Err).unwrap_or_else(|| {
            evidence::load(&path, &LoadLimits::default()).map_err(|e| e.to_string())
        }) {
            Ok(loaded) => loaded.rgb,
            Err(e) => {
                eprintln!("mclcr: {}: {e}", path.display());
                failed += 1;
                continue;
            }
        };
        let (w, h) = image.dimensions();
        let boxes: Vec<FaceBox> = if args.whole_image {
            vec![FaceBox {
                x: 0,
                y: 0,
                width: w,
                height: h,
            }]
        } else {
            detector
                .detect(&image)
                .into_iter()
                .map(|f| f.bbox)
                .collect()
        };
        if boxes.is_empty() {
            eprintln!("mclcr: {}: no face found", path.display());
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("input{index}"));
        for (k, face) in boxes.iter().enumerate() {
            let crop_box = if args.whole_image {
                *face
            } else {
                faces::crop_box(face, w, h, faces::DEFAULT_MARGIN)
            };
            let crop = faces::cut(&image, &crop_box);
            let scale = size as f32 / crop_box.width.max(1) as f32;
            let crop = image::imageops::resize(&crop, size, size, FilterType::CatmullRom);
            let in_crop = FaceBox {
                x: ((face.x - crop_box.x) as f32 * scale) as u32,
                y: ((face.y - crop_box.y) as f32 * scale) as u32,
                width: (face.width as f32 * scale) as u32,
                height: (face.height as f32 * scale) as u32,
            };
            let hull = ellipse_hull(&in_crop, 48);
            for n in 0..args.count {
                let stream = ((index as u64) << 32) | ((k as u64) << 16) | n as u64;
                let pair = self_blend(&crop, &hull, &config, &mut Rng::derive(args.seed, stream));
                let name = |part: &str| {
                    args.out
                        .join(format!("{stem}-face{}-{n}-{part}.png", k + 1))
                };
                pair.real.save(name("real")).context("writing a pair")?;
                pair.fake.save(name("fake")).context("writing a pair")?;
                pair.mask_image()
                    .save(name("mask"))
                    .context("writing a pair")?;
                written += 1;
            }
        }
    }
    println!("{written} pair(s) written to {}", args.out.display());
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
