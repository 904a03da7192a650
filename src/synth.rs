//! `mclcr synth`: self-blended pairs written to a folder, so that a person can look at what the
//! training data is made of.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::SynthArgs;
use crate::dataset::{DataOptions, FaceCrop, FaceFinder};
use crate::rng::Rng;
use crate::scan;
use crate::selfblend::{SelfBlendConfig, self_blend};

/// Runs the command; exit code 1 when some inputs could not be used.
pub fn run(args: &SynthArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let size = args.size.clamp(32, 2048);
    let options = DataOptions {
        side: size,
        whole_image: args.whole_image,
        faces_per_image: usize::MAX,
        ..DataOptions::default()
    };
    let mut finder = FaceFinder::default();
    let config = SelfBlendConfig::default();
    let (mut written, mut failed) = (0usize, 0usize);
    for (index, (path, error)) in scan::collect_inputs(&args.inputs).into_iter().enumerate() {
        let found = match error.map(Err).unwrap_or_else(|| {
            finder
                .face_crops(&path, &options)
                .map_err(|e| e.to_string())
        }) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("mclcr: {}: {e}", path.display());
                failed += 1;
                continue;
            }
        };
        if found.is_empty() {
            eprintln!("mclcr: {}: no face found", path.display());
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("input{index}"));
        for (k, FaceCrop { crop, hull, .. }) in found.iter().enumerate() {
            for n in 0..args.count {
                let stream = ((index as u64) << 32) | ((k as u64) << 16) | n as u64;
                let pair = self_blend(crop, hull, &config, &mut Rng::derive(args.seed, stream));
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
