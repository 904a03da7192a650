//! Images made into GPU textures for the UI, and the inspector's explanation pictures.

use eframe::egui;
use image::RgbImage;

use crate::analysis::explain::FaceExplanation;
use crate::imaging::heatmap;

/// Uploads an RGB image as a texture.
pub fn upload(ctx: &egui::Context, name: &str, image: &RgbImage) -> egui::TextureHandle {
    let size = [image.width() as usize, image.height() as usize];
    ctx.load_texture(
        name,
        egui::ColorImage::from_rgb(size, image.as_raw()),
        egui::TextureOptions::LINEAR,
    )
}

/// Uploads a grayscale image as a texture.
pub fn upload_gray(
    ctx: &egui::Context,
    name: &str,
    image: &image::GrayImage,
) -> egui::TextureHandle {
    let size = [image.width() as usize, image.height() as usize];
    ctx.load_texture(
        name,
        egui::ColorImage::from_gray(size, image.as_raw()),
        egui::TextureOptions::LINEAR,
    )
}

/// The pictures of one explanation.
#[derive(Default)]
pub struct ExplanationTextures {
    /// The face crop the model saw.
    pub crop: Option<egui::TextureHandle>,
    /// Amplitude attention over the face.
    pub amplitude: Option<egui::TextureHandle>,
    /// Phase attention over the face.
    pub phase: Option<egui::TextureHandle>,
    /// The log-amplitude spectrum.
    pub spectrum: Option<egui::TextureHandle>,
    /// The opacity the overlays were made at.
    pub opacity: f32,
}

impl ExplanationTextures {
    /// Makes every picture of `explanation`, overlays at `opacity`.
    pub fn new(ctx: &egui::Context, explanation: &FaceExplanation, opacity: f32) -> Self {
        let mut textures = Self {
            crop: Some(upload(ctx, "face", &explanation.crop)),
            spectrum: Some(upload_gray(ctx, "spectrum", &explanation.spectrum)),
            ..Default::default()
        };
        textures.set_opacity(ctx, explanation, opacity);
        textures
    }

    /// Re-composites the attention overlays at another opacity (the CPU path): one blend of
    /// the precomputed colour layers, cheap enough for every frame of a slider drag.
    pub fn set_opacity(
        &mut self,
        ctx: &egui::Context,
        explanation: &FaceExplanation,
        opacity: f32,
    ) {
        if explanation.score.grid == 0 {
            return;
        }
        let [amplitude, phase] = &explanation.colour_layers;
        let blend = |colours| crate::analysis::explain::blend(&explanation.crop, colours, opacity);
        self.amplitude = Some(upload(ctx, "amplitude", &blend(amplitude)));
        self.phase = Some(upload(ctx, "phase", &blend(phase)));
        self.opacity = opacity;
    }
}

/// The inferno colour map as a horizontal legend strip.
pub fn legend(ctx: &egui::Context) -> egui::TextureHandle {
    let strip = RgbImage::from_fn(256, 1, |x, _| heatmap::inferno(x as f32 / 255.0));
    upload(ctx, "legend", &strip)
}
