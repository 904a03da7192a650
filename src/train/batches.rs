//! An epoch's batches: shuffled real faces paired with a folder fake or a self-blend of
//! themselves, jittered and re-encoded alike, made into the network's input.

use crate::imaging::jpeg::recompress;
use crate::inference::preprocess::{PreparedFace, Preprocessor};
use crate::rng::Rng;
use crate::train::dataset::{DataSplit, FaceSample};
use crate::train::options::TrainOptions;

/// One batch: pairs of (real sample, optional fake sample from a folder).
pub(crate) type PairPlan<'a> = Vec<(&'a FaceSample, Option<&'a FaceSample>)>;

/// Shuffled real faces, each paired with a folder fake or (None) a self-blend of itself.
pub(crate) fn epoch_batches<'a>(
    data: &'a DataSplit,
    pairs_per_batch: usize,
    rng: &mut Rng,
) -> Vec<PairPlan<'a>> {
    let mut reals: Vec<&FaceSample> = data.train.iter().filter(|s| !s.fake).collect();
    let fakes: Vec<&FaceSample> = data.train.iter().filter(|s| s.fake).collect();
    rng.shuffle(&mut reals);
    let share = data.summary.train_fake as f32 / data.train.len().max(1) as f32;
    let plan: Vec<(&FaceSample, Option<&FaceSample>)> = reals
        .into_iter()
        .map(|real| {
            let from_folder = !fakes.is_empty() && rng.chance(share.max(0.5));
            let fake = from_folder.then(|| fakes[rng.int(0, fakes.len() as i64 - 1) as usize]);
            (real, fake)
        })
        .collect();
    plan.chunks(pairs_per_batch.max(1))
        .map(|c| c.to_vec())
        .collect()
}

/// Prepares a batch: each pair's fake (from its folder or self-blended), a shared JPEG
/// re-encoding with probability `jpeg_probability`, then the network's input.
pub(crate) fn make_batch(
    plan: &PairPlan<'_>,
    options: &TrainOptions,
    preprocessor: &Preprocessor,
    rng: &mut Rng,
) -> (Vec<PreparedFace>, Vec<bool>) {
    let mut faces = Vec::with_capacity(plan.len() * 2);
    let mut labels = Vec::with_capacity(plan.len() * 2);
    for (real, fake) in plan {
        let (real_image, fake_image) = match fake {
            Some(fake) if !rng.chance(options.self_blend_share) => {
                (real.crop.clone(), fake.crop.clone())
            }
            _ => real.self_blended(&options.self_blend, rng),
        };
        let (real_image, fake_image) = if options.crop_jitter > 0.0 {
            jitter_pair(real_image, fake_image, options.crop_jitter, rng)
        } else {
            (real_image, fake_image)
        };
        let (real_image, fake_image) = if rng.chance(options.jpeg_probability) {
            let q = rng.int(
                options.jpeg_quality[0] as i64,
                options.jpeg_quality[1] as i64,
            ) as u8;
            (recompress(&real_image, q), recompress(&fake_image, q))
        } else {
            (real_image, fake_image)
        };
        faces.push(preprocessor.prepare(&real_image));
        labels.push(false);
        faces.push(preprocessor.prepare(&fake_image));
        labels.push(true);
    }
    (faces, labels)
}

/// The same random zoom and shift for both faces of a pair: a square of side `1 - jitter ..= 1`
/// of the crop, placed anywhere inside it, resized back to the crop's size.
fn jitter_pair(
    real: image::RgbImage,
    fake: image::RgbImage,
    jitter: f32,
    rng: &mut Rng,
) -> (image::RgbImage, image::RgbImage) {
    let (width, height) = real.dimensions();
    let keep = 1.0 - rng.range(0.0, jitter.clamp(0.0, 0.5));
    let (w, h) = (
        ((width as f32 * keep).round() as u32).clamp(1, width),
        ((height as f32 * keep).round() as u32).clamp(1, height),
    );
    let x = rng.int(0, (width - w) as i64) as u32;
    let y = rng.int(0, (height - h) as i64) as u32;
    let cut = |img: &image::RgbImage| {
        let part = image::imageops::crop_imm(img, x, y, w, h).to_image();
        image::imageops::resize(&part, width, height, image::imageops::FilterType::Triangle)
    };
    (cut(&real), cut(&fake))
}
