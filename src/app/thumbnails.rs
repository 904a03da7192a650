//! The queue's thumbnails on the GPU: a row's texture is uploaded when the row is drawn, and
//! past [`CAPACITY`] the textures drawn longest ago are dropped (freed by egui), so the
//! textures held stay bounded however many images are queued. The pixels stay in each report
//! (96 px, a few tens of kilobytes), so a row scrolled back into view is uploaded again.

use std::collections::HashMap;

use eframe::egui;
use image::RgbImage;

use super::textures;

/// Most thumbnail textures held at once (a tall window shows about 20 rows).
pub const CAPACITY: usize = 256;

/// Thumbnail textures by queue index, each with the frame it was last drawn in.
#[derive(Default)]
pub struct Thumbnails {
    textures: HashMap<usize, (egui::TextureHandle, u64)>,
    frame: u64,
}

impl Thumbnails {
    /// The texture of item `index`'s thumbnail `image`, uploaded now if it is not held.
    pub fn get(
        &mut self,
        ctx: &egui::Context,
        index: usize,
        image: Option<&RgbImage>,
    ) -> Option<egui::TextureHandle> {
        let frame = self.frame;
        if let Some((texture, used)) = self.textures.get_mut(&index) {
            *used = frame;
            return Some(texture.clone());
        }
        let texture = textures::upload(ctx, "thumbnail", image?);
        self.textures.insert(index, (texture.clone(), frame));
        Some(texture)
    }

    /// Ends a frame: drops the textures drawn longest ago beyond [`CAPACITY`].
    pub fn end_frame(&mut self) {
        self.frame += 1;
        if self.textures.len() > CAPACITY {
            let mut by_age: Vec<(u64, usize)> = self
                .textures
                .iter()
                .map(|(&index, (_, used))| (*used, index))
                .collect();
            by_age.sort_unstable();
            for (_, index) in by_age.iter().take(self.textures.len() - CAPACITY) {
                self.textures.remove(index);
            }
        }
    }

    /// Drops every texture (the queue was cleared; indices will mean other images).
    pub fn clear(&mut self) {
        self.textures.clear();
    }

    /// Textures held now.
    pub fn len(&self) -> usize {
        self.textures.len()
    }

    /// Whether no texture is held.
    pub fn is_empty(&self) -> bool {
        self.textures.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrolling_through_ten_thousand_rows_holds_at_most_the_capacity() {
        let ctx = egui::Context::default();
        let image = RgbImage::new(96, 72);
        let mut thumbnails = Thumbnails::default();
        let before = ctx.tex_manager().read().num_allocated();
        // 20 rows on screen, moving down one row a frame.
        for top in 0..10_000 {
            for index in top..top + 20 {
                assert!(thumbnails.get(&ctx, index, Some(&image)).is_some());
            }
            thumbnails.end_frame();
            assert!(thumbnails.len() <= CAPACITY);
        }
        let allocated = ctx.tex_manager().read().num_allocated() - before;
        assert!(
            allocated <= CAPACITY,
            "{allocated} textures still allocated"
        );
        // The rows on screen are kept; no thumbnail, no texture.
        assert!(thumbnails.textures.contains_key(&10_018));
        assert!(thumbnails.get(&ctx, 20_000, None).is_none());
        thumbnails.clear();
        assert!(thumbnails.is_empty());
    }
}
