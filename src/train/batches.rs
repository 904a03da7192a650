//! An epoch's batches: shuffled real faces paired with a folder fake or a self-blend of
//! themselves, jittered and re-encoded alike, made into the network's input.

use crate::imaging::jpeg::recompress;
use crate::imaging::scale::{scaled_by, to_crop_size};
use crate::inference::preprocess::{PreparedFace, Preprocessor};
use crate::rng::Rng;
use crate::train::blend_map::BlendTarget;
use crate::train::dataset::{DataSplit, FaceSample};
use crate::train::options::TrainOptions;
use crate::train::pair_relight::PairRelight;
use crate::train::pair_warp::PairWarp;
use crate::train::selfblend::warp_rgb;
use crate::train::video_like::VideoLike;

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

/// A batch ready for a training step: faces, labels (true: manipulated) and, when the recipe
/// asks for the blend-map loss, where each face was blended (else empty).
#[derive(Debug)]
pub(crate) struct Batch {
    pub faces: Vec<PreparedFace>,
    pub labels: Vec<bool>,
    pub blend_targets: Vec<BlendTarget>,
}

/// Prepares a batch: each pair's fake (from its folder or self-blended), the same crop jitter,
/// rotation, reshaping, lighting and degradation ([`degrade_pair`]: small face, video-like or
/// JPEG) for both faces, then the network's input.
pub(crate) fn make_batch(
    plan: &PairPlan<'_>,
    options: &TrainOptions,
    preprocessor: &Preprocessor,
    rng: &mut Rng,
) -> Batch {
    let mut faces = Vec::with_capacity(plan.len() * 2);
    let mut labels = Vec::with_capacity(plan.len() * 2);
    let mut blend_targets = Vec::new();
    for (real, fake) in plan {
        let (real_image, fake_image, self_blended) = match fake {
            Some(fake) if !rng.chance(options.self_blend_share) => {
                (real.crop.clone(), fake.crop.clone(), false)
            }
            _ => {
                let (real_image, fake_image) =
                    real.self_blended(&options.self_blend, options.blend_at_source_size, rng);
                (real_image, fake_image, true)
            }
        };
        let (real_image, fake_image) = if options.crop_jitter > 0.0 {
            jitter_pair(real_image, fake_image, options.crop_jitter, rng)
        } else {
            (real_image, fake_image)
        };
        let (real_image, fake_image) = if options.crop_rotation > 0.0 {
            let degrees = rng.range(-options.crop_rotation, options.crop_rotation);
            (rotated(&real_image, degrees), rotated(&fake_image, degrees))
        } else {
            (real_image, fake_image)
        };
        let warp = PairWarp::draw_for_pair(options.pair_warp, options.pair_warp_probability, rng);
        let (real_image, fake_image) = match warp {
            Some(warp) => (warp.apply(&real_image), warp.apply(&fake_image)),
            None => (real_image, fake_image),
        };
        let (real_image, fake_image) = match PairRelight::draw_for_pair(options.pair_relight, rng) {
            Some(light) => (light.apply(&real_image), light.apply(&fake_image)),
            None => (real_image, fake_image),
        };
        let (real_image, fake_image) = degrade_pair(real_image, fake_image, real, options, rng);
        let (real_face, fake_face) = (
            preprocessor.prepare(&real_image),
            preprocessor.prepare(&fake_image),
        );
        if options.blend_map_loss > 0.0 {
            blend_targets.push(BlendTarget::Untouched);
            blend_targets.push(if self_blended {
                BlendTarget::of_pair(&real_face, &fake_face)
            } else {
                BlendTarget::Unknown
            });
        }
        faces.push(real_face);
        labels.push(false);
        faces.push(fake_face);
        labels.push(true);
    }
    Batch {
        faces,
        labels,
        blend_targets,
    }
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

/// What a pair goes through on its way from a camera to an analyst, alike for both faces: with
/// `small_face_probability`, shrunk to a small face (see [`TrainOptions::small_face_probability`]);
/// with `video_probability`, given a camera's and a video codec's traces ([`VideoLike`]) and,
/// with `frame_jpeg_probability`, then saved as a JPEG file too, or else with
/// `jpeg_probability` re-encoded as JPEG (at the small size, as a video frame is); then back to
/// the crop's size.
pub(crate) fn degrade_pair(
    real_image: image::RgbImage,
    fake_image: image::RgbImage,
    real: &FaceSample,
    options: &TrainOptions,
    rng: &mut Rng,
) -> (image::RgbImage, image::RgbImage) {
    let side = real_image.width();
    // The face's size in the crop, and the detail the file gave it.
    let face_side = real.face.width.max(real.face.height).max(1);
    let detail = face_side.min(real.source_side.max(1));
    let shrink = (options.small_face_probability > 0.0
        && rng.chance(options.small_face_probability))
    .then(|| {
        let [low, high] = options.small_face_side;
        rng.int(low.min(high) as i64, high.max(low) as i64) as u32
    })
    .filter(|&target| target < detail)
    .map(|target| target as f32 / face_side as f32);
    let (real_image, fake_image) = match shrink {
        Some(scale) => (scaled_by(&real_image, scale), scaled_by(&fake_image, scale)),
        None => (real_image, fake_image),
    };
    // A video codec's traces, then maybe the file's JPEG; or the JPEG alone.
    let (real_image, fake_image, jpeg) = if rng.chance(options.video_probability) {
        let draw = VideoLike::draw(options.video_quality, rng);
        let saved_as_jpeg =
            options.frame_jpeg_probability > 0.0 && rng.chance(options.frame_jpeg_probability);
        (
            draw.apply(&real_image),
            draw.apply(&fake_image),
            saved_as_jpeg,
        )
    } else {
        let jpeg = rng.chance(options.jpeg_probability);
        (real_image, fake_image, jpeg)
    };
    let (real_image, fake_image) = if jpeg {
        let q = rng.int(
            options.jpeg_quality[0] as i64,
            options.jpeg_quality[1] as i64,
        ) as u8;
        (recompress(&real_image, q), recompress(&fake_image, q))
    } else {
        (real_image, fake_image)
    };
    let (real_image, fake_image) = if shrink.is_some() {
        (
            to_crop_size(&real_image, side, side),
            to_crop_size(&fake_image, side, side),
        )
    } else {
        (real_image, fake_image)
    };
    (real_image, fake_image)
}

/// The image turned by `degrees` about its centre (bilinear; the corners repeat the border).
fn rotated(image: &image::RgbImage, degrees: f32) -> image::RgbImage {
    let (w, h) = image.dimensions();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (sin, cos) = degrees.to_radians().sin_cos();
    warp_rgb(image, |x, y| {
        let (dx, dy) = (x - cx, y - cy);
        (cx + cos * dx + sin * dy, cy - sin * dx + cos * dy)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::faces::FaceBox;

    fn sample(source_side: u32) -> FaceSample {
        let crop = image::RgbImage::from_fn(256, 256, |x, y| {
            let v = if (x / 2 + y / 2) % 2 == 0 { 30 } else { 220 };
            image::Rgb([v, v, v])
        });
        FaceSample {
            crop,
            face: FaceBox {
                x: 43,
                y: 43,
                width: 170,
                height: 170,
            },
            hull: Vec::new(),
            fake: false,
            identity: "p".into(),
            path: "p.png".into(),
            source_side,
        }
    }

    /// Mean absolute difference between horizontal neighbours: fine detail.
    fn detail(image: &image::RgbImage) -> f64 {
        let (w, h) = image.dimensions();
        let mut sum = 0.0;
        for y in 0..h {
            for x in 1..w {
                sum +=
                    (image.get_pixel(x, y)[0] as f64 - image.get_pixel(x - 1, y)[0] as f64).abs();
            }
        }
        sum / ((w - 1) * h) as f64
    }

    fn options(small: f32) -> TrainOptions {
        let mut options = TrainOptions::new(crate::model::MclcrConfig::tiny());
        options.jpeg_probability = 0.0;
        options.video_probability = 0.0;
        options.small_face_probability = small;
        options.small_face_side = [60, 60];
        options
    }

    #[test]
    fn a_small_face_loses_detail_and_keeps_its_size() {
        let s = sample(400);
        let (real, fake) = degrade_pair(
            s.crop.clone(),
            s.crop.clone(),
            &s,
            &options(1.0),
            &mut Rng::new(1),
        );
        assert_eq!(real.dimensions(), (256, 256));
        assert_eq!(real, fake, "both faces of a pair alike");
        assert!(detail(&real) < 0.5 * detail(&s.crop));
    }

    #[test]
    fn a_video_frame_saved_as_jpeg_is_compressed_twice_alike_for_both_faces() {
        let s = sample(400);
        let mut video = options(0.0);
        video.video_probability = 1.0;
        video.jpeg_quality = [40, 40];
        let once = degrade_pair(s.crop.clone(), s.crop.clone(), &s, &video, &mut Rng::new(3));
        video.frame_jpeg_probability = 1.0;
        let (real, fake) =
            degrade_pair(s.crop.clone(), s.crop.clone(), &s, &video, &mut Rng::new(3));
        assert_eq!(real, fake, "both faces of a pair alike");
        // The same codec draw, then the file's JPEG at quality 40 on top of it.
        assert_eq!(real, recompress(&once.0, 40));
        assert_ne!(real, once.0);
    }

    #[test]
    fn rotation_turns_the_picture_and_zero_keeps_it() {
        let s = sample(400);
        assert_eq!(rotated(&s.crop, 0.0), s.crop);
        // A vertical bar turned by 90° is a horizontal one.
        let bar = image::RgbImage::from_fn(64, 64, |x, _| {
            image::Rgb(if (30..34).contains(&x) {
                [255; 3]
            } else {
                [0; 3]
            })
        });
        let turned = rotated(&bar, 90.0);
        assert!(turned.get_pixel(5, 32)[0] > 200 && turned.get_pixel(32, 5)[0] < 50);
    }

    #[test]
    fn off_or_already_small_leaves_the_pair_as_it_is() {
        let s = sample(400);
        let (real, _) = degrade_pair(
            s.crop.clone(),
            s.crop.clone(),
            &s,
            &options(0.0),
            &mut Rng::new(1),
        );
        assert_eq!(real, s.crop);
        // A face that came from a 50 px face has no detail left to lose at 60 px.
        let small = sample(50);
        let (real, _) = degrade_pair(
            small.crop.clone(),
            small.crop.clone(),
            &small,
            &options(1.0),
            &mut Rng::new(1),
        );
        assert_eq!(real, small.crop);
    }
}
