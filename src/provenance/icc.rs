//! The embedded ICC colour profile's description ("sRGB IEC61966-2.1", "Display P3", a
//! camera's or a scanner's profile), read with the `moxcms` crate from the profile bytes the
//! image decoder found.

use moxcms::{ColorProfile, ProfileText};

/// Longest description kept.
const MAX_TEXT: usize = 256;

/// The description of the profile `icc`.
pub(super) fn read(icc: &[u8]) -> Result<Option<String>, String> {
    let profile =
        ColorProfile::new_from_slice(icc).map_err(|e| format!("malformed profile ({e:?})"))?;
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
