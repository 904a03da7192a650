//! The embedded ICC colour profile's description ("sRGB IEC61966-2.1", "Display P3", a
//! camera's or a scanner's profile), read with the `moxcms` crate.

use std::io::Cursor;

use image::{ImageDecoder, ImageFormat, ImageReader};
use moxcms::{ColorProfile, ProfileText};

/// Longest description kept.
const MAX_TEXT: usize = 256;

/// The profile's description; `Ok(None)` when the file embeds none.
pub(super) fn read(bytes: &[u8], format: &str) -> Result<Option<String>, String> {
    let format = match format {
        "JPEG" => ImageFormat::Jpeg,
        "PNG" => ImageFormat::Png,
        "WebP" => ImageFormat::WebP,
        "TIFF" => ImageFormat::Tiff,
        _ => return Ok(None),
    };
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(|e| e.to_string())?;
    let Some(icc) = decoder.icc_profile().map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let profile =
        ColorProfile::new_from_slice(&icc).map_err(|e| format!("malformed profile ({e:?})"))?;
    let name = match profile.description {
        Some(ProfileText::PlainString(s)) => s,
        Some(ProfileText::Localizable(list)) => list
            .into_iter()
            .map(|l| l.value)
            .find(|v| !v.trim().is_empty())
            .unwrap_or_default(),
        Some(ProfileText::Description(d)) => d.ascii_string,
        None => String::new(),
    };
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect();
    let name = name.trim().to_string();
    Ok(Some(if name.is_empty() {
        format!("unnamed profile ({} bytes)", icc.len())
    } else {
        name
    }))
}
