//! `mclcr synth`: self-blended pairs written to a folder, so that a person can look at what the
//! training data is made of.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::atomic_file;
use crate::export::escape::printable;
use crate::rng::Rng;
use crate::train::dataset::{CropReader, DataOptions, FaceCrop};
use crate::train::selfblend::{SelfBlendConfig, self_blend};

/// Flags of `mclcr synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Images or folders of real faces.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Folder to write the pairs to.
    #[arg(long)]
    pub out: PathBuf,
    /// Pairs per face.
    #[arg(long, default_value_t = 2)]
    pub count: u32,
    /// Random seed: the same seed gives the same files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Side of the written images, in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Treat every image as one face crop (skip face detection).
    #[arg(long)]
    pub whole_image: bool,
}

/// Writes a PNG atomically: a failure leaves no half-written picture.
fn save_png(path: &std::path::Path, picture: &image::DynamicImage) -> anyhow::Result<()> {
    atomic_file::write_with(path, |file| {
        picture
            .write_to(file, image::ImageFormat::Png)
            .map_err(std::io::Error::other)
    })?;
    Ok(())
}

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
    let mut finder = CropReader::default();
    let config = SelfBlendConfig::default();
    let (mut written, mut failed) = (0usize, 0usize);
    for (index, (path, error)) in crate::imaging::inputs::collect_inputs(&args.inputs)
        .into_iter()
        .enumerate()
    {
        let found = match error.map(Err).unwrap_or_else(|| {
            finder
                .face_crops(&path, &options)
                .map_err(|e| e.to_string())
        }) {
            Ok(found) => found,
            Err(e) => {
                eprintln!("mclcr: {}", printable(&format!("{}: {e}", path.display())));
                failed += 1;
                continue;
            }
        };
        if found.is_empty() {
            eprintln!(
                "mclcr: {}: no face found",
                printable(&path.display().to_string())
            );
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
                let mask = image::DynamicImage::ImageLuma8(pair.mask_image());
                save_png(&name("real"), &image::DynamicImage::ImageRgb8(pair.real))?;
                save_png(&name("fake"), &image::DynamicImage::ImageRgb8(pair.fake))?;
                save_png(&name("mask"), &mask)?;
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
