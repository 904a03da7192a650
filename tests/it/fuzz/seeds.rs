//! The seed files the fuzzer mutates: a small face (96 px, so a mutant decodes and is searched
//! for faces in about a millisecond) in every format mclcr reads, and the tiny parity model.
//!
//! Most seeds are written here with the `image` crate; the three it cannot write (progressive
//! and CMYK JPEG, palette PNG) are committed in `tests/fixtures/fuzz/seeds/` (see its README).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageFormat, RgbImage, RgbaImage};

use super::mutate::Form;

/// One seed file.
pub struct Seed {
    pub name: &'static str,
    pub form: Form,
    pub bytes: Vec<u8>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("seed {}: {e}", path.display()))
}

/// The face all image seeds show, `side` pixels square.
fn face(side: u32) -> RgbImage {
    let big = image::open(fixtures().join("parity/face256_sample.png"))
        .expect("face sample")
        .to_rgb8();
    image::imageops::resize(&big, side, side, image::imageops::FilterType::Triangle)
}

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("seed encodes");
    out.into_inner()
}

fn jpeg(image: DynamicImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&image)
        .expect("seed encodes");
    out
}

/// A JPEG with an EXIF segment (orientation 6: rotate 90° clockwise) right after SOI.
fn with_exif_orientation(jpeg: &[u8]) -> Vec<u8> {
    let mut tiff = b"MM\x00\x2A\x00\x00\x00\x08".to_vec();
    tiff.extend_from_slice(&[0x00, 0x01]); // one entry
    tiff.extend_from_slice(&[
        0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0, 0,
    ]);
    tiff.extend_from_slice(&[0, 0, 0, 0]); // no next directory
    let mut payload = b"Exif\x00\x00".to_vec();
    payload.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Every image seed.
pub fn image_seeds() -> Vec<Seed> {
    let rgb = face(96);
    let rgba = RgbaImage::from_fn(96, 96, |x, y| {
        let p = rgb.get_pixel(x, y).0;
        image::Rgba([p[0], p[1], p[2], (x * 2 + y) as u8])
    });
    let wide = image::imageops::resize(&rgb, 120, 80, image::imageops::FilterType::Triangle);
    let colour = || DynamicImage::ImageRgb8(rgb.clone());
    let seeds_dir = fixtures().join("fuzz/seeds");
    let baseline = jpeg(colour(), 90);
    vec![
        Seed {
            name: "baseline.jpg",
            form: Form::Jpeg,
            bytes: baseline.clone(),
        },
        Seed {
            name: "gray.jpg",
            form: Form::Jpeg,
            bytes: jpeg(DynamicImage::ImageLuma8(colour().to_luma8()), 40),
        },
        Seed {
            name: "exif.jpg",
            form: Form::Jpeg,
            bytes: with_exif_orientation(&jpeg(DynamicImage::ImageRgb8(wide.clone()), 75)),
        },
        Seed {
            name: "exif_rotated.jpg",
            form: Form::Jpeg,
            bytes: read(&fixtures().join("exif_rotated.jpg")),
        },
        Seed {
            name: "progressive.jpg",
            form: Form::Jpeg,
            bytes: read(&seeds_dir.join("progressive.jpg")),
        },
        Seed {
            name: "cmyk.jpg",
            form: Form::Jpeg,
            bytes: read(&seeds_dir.join("cmyk.jpg")),
        },
        Seed {
            name: "rgb8.png",
            form: Form::Png,
            bytes: encode(DynamicImage::ImageRgb8(wide), ImageFormat::Png),
        },
        Seed {
            name: "rgb16.png",
            form: Form::Png,
            bytes: encode(
                DynamicImage::ImageRgb16(colour().to_rgb16()),
                ImageFormat::Png,
            ),
        },
        Seed {
            name: "gray16.png",
            form: Form::Png,
            bytes: encode(
                DynamicImage::ImageLuma16(colour().to_luma16()),
                ImageFormat::Png,
            ),
        },
        Seed {
            name: "alpha.png",
            form: Form::Png,
            bytes: encode(DynamicImage::ImageRgba8(rgba.clone()), ImageFormat::Png),
        },
        Seed {
            name: "palette.png",
            form: Form::Png,
            bytes: read(&seeds_dir.join("palette.png")),
        },
        Seed {
            name: "lossless.webp",
            form: Form::Riff,
            bytes: encode(DynamicImage::ImageRgba8(rgba.clone()), ImageFormat::WebP),
        },
        Seed {
            name: "rgb8.tiff",
            form: Form::Tiff,
            bytes: encode(colour(), ImageFormat::Tiff),
        },
        Seed {
            name: "rgb24.bmp",
            form: Form::Bmp,
            bytes: encode(colour(), ImageFormat::Bmp),
        },
        Seed {
            name: "rgba32.bmp",
            form: Form::Bmp,
            bytes: encode(DynamicImage::ImageRgba8(rgba.clone()), ImageFormat::Bmp),
        },
        Seed {
            name: "face.gif",
            form: Form::Gif,
            bytes: encode(DynamicImage::ImageRgba8(rgba), ImageFormat::Gif),
        },
    ]
}

/// The tiny parity model: its manifest and its weights.
pub fn model_seeds() -> (Seed, Seed) {
    let dir = fixtures().join("parity/tiny");
    (
        Seed {
            name: "model.json",
            form: Form::Json,
            bytes: read(&dir.join("model.json")),
        },
        Seed {
            name: "model.safetensors",
            form: Form::Safetensors,
            bytes: read(&dir.join("model.safetensors")),
        },
    )
}
