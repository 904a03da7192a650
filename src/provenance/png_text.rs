//! PNG text chunks (`tEXt`, `zTXt`, `iTXt` before the image data), read with the `png` crate.
//! Image generators write their prompts and settings there (`parameters`, `prompt`, `workflow`).

use std::io::Cursor;

use serde::Serialize;

/// Largest decompressed text kept per chunk.
const MAX_TEXT: usize = 64 << 10;
/// Most chunks kept.
const MAX_CHUNKS: usize = 64;

/// One text chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextChunk {
    /// The chunk's keyword (`parameters`, `Software`, `Comment`, …).
    pub keyword: String,
    /// Its text, cut at 64 KiB.
    pub text: String,
}

/// The text chunks of a PNG file.
pub(super) fn read(bytes: &[u8]) -> Result<Vec<TextChunk>, String> {
    let decoder = png::Decoder::new(Cursor::new(bytes));
    let reader = decoder
        .read_info()
        .map_err(|e| format!("malformed ({e})"))?;
    let info = reader.info();
    let mut out = Vec::new();
    for chunk in &info.uncompressed_latin1_text {
        out.push((chunk.keyword.clone(), Ok(chunk.text.clone())));
    }
    // zTXt and iTXt share their method names but no trait: one rule for both.
    macro_rules! decompressed {
        ($chunks:expr) => {
            for chunk in $chunks {
                let mut chunk = chunk.clone();
                let text = chunk
                    .decompress_text_with_limit(MAX_TEXT)
                    .and_then(|_| chunk.get_text())
                    .map_err(|e| e.to_string());
                out.push((chunk.keyword.clone(), text));
            }
        };
    }
    decompressed!(&info.compressed_latin1_text);
    decompressed!(&info.utf8_text);
    Ok(out
        .into_iter()
        .take(MAX_CHUNKS)
        .map(|(keyword, text)| TextChunk {
            keyword,
            text: match text {
                Ok(text) => text.chars().take(MAX_TEXT).collect(),
                Err(e) => format!("(unreadable: {e})"),
            },
        })
        .collect())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A small PNG with the given text chunks (tEXt, and iTXt for the last one).
    pub fn png_with_text(chunks: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, 8, 8);
            encoder.set_color(png::ColorType::Rgb);
            for (i, (keyword, text)) in chunks.iter().enumerate() {
                if i + 1 == chunks.len() {
                    encoder
                        .add_itxt_chunk(keyword.to_string(), text.to_string())
                        .unwrap();
                } else {
                    encoder
                        .add_text_chunk(keyword.to_string(), text.to_string())
                        .unwrap();
                }
            }
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[128u8; 8 * 8 * 3]).unwrap();
        }
        out
    }

    #[test]
    fn reads_text_and_itxt_chunks() {
        let bytes = png_with_text(&[
            ("parameters", "a portrait, Steps: 20, Sampler: Euler a"),
            ("Software", "ComfyUI"),
        ]);
        let chunks = read(&bytes).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].keyword, "parameters");
        assert!(chunks[0].text.contains("Steps: 20"));
        assert_eq!(chunks[1].text, "ComfyUI");
        assert!(read(b"not a png").is_err());
    }
}
