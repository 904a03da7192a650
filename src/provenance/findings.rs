//! What follows from the file's own evidence: the [`FileFinding`]s of one file.

use super::content_credentials::AI_SOURCE_TYPES;
use super::evidence::FileEvidence;
use super::finding::FileFinding;

/// Editors whose name in the software fields means the file went through them.
const EDITORS: [&str; 20] = [
    "photoshop",
    "gimp",
    "lightroom",
    "affinity",
    "pixelmator",
    "snapseed",
    "faceapp",
    "facetune",
    "paint.net",
    "luminar",
    "canva",
    "picsart",
    "capture one",
    "darktable",
    "rawtherapee",
    "krita",
    "photopea",
    "meitu",
    "remini",
    "photoscape",
];
/// Generators whose name in the software fields declares a generated image.
const GENERATORS: [&str; 10] = [
    "midjourney",
    "dall-e",
    "dall·e",
    "stable diffusion",
    "stablediffusion",
    "novelai",
    "comfyui",
    "invokeai",
    "adobe firefly",
    "automatic1111",
];
/// PNG text keywords that image generators write their prompts and settings under.
const GENERATOR_KEYWORDS: [&str; 6] = [
    "parameters",
    "prompt",
    "workflow",
    "sd-metadata",
    "invokeai_metadata",
    "dream",
];
/// History actions that change the file.
const EDIT_ACTIONS: [&str; 6] = [
    "saved",
    "derived",
    "converted",
    "edited",
    "filtered",
    "produced",
];
/// Seconds between capture and the last change above which they disagree.
const DATE_SLACK: i64 = 60;

fn contains_any(haystack: &str, needles: &[&str]) -> bool {
    let lower = haystack.to_lowercase();
    needles.iter().any(|n| lower.contains(n))
}

/// The findings of one file's evidence.
pub(super) fn derive(e: &FileEvidence) -> Vec<FileFinding> {
    let mut out = Vec::new();
    let ai = |source: String, out: &mut Vec<FileFinding>| {
        if !out
            .iter()
            .any(|f| matches!(f, FileFinding::AiGeneratedDeclared { .. }))
        {
            out.push(FileFinding::AiGeneratedDeclared { source });
        }
    };
    if let Some(c) = &e.content_credentials
        && c.declares_ai()
    {
        let signed = if c.is_valid() {
            "signed"
        } else {
            "not validated"
        };
        ai(format!("C2PA, {signed}"), &mut out);
    }
    if let Some(t) = e
        .xmp
        .as_ref()
        .and_then(|x| x.digital_source_type.as_deref())
        && AI_SOURCE_TYPES.iter().any(|ai| t.ends_with(ai))
    {
        let kind = t.rsplit('/').next().unwrap_or(t);
        ai(format!("XMP digital source type {kind}"), &mut out);
    }
    for chunk in &e.png_text {
        let keyword = chunk.keyword.to_lowercase();
        if GENERATOR_KEYWORDS.contains(&keyword.as_str())
            || (keyword == "software" && contains_any(&chunk.text, &GENERATORS))
        {
            ai(format!("PNG text '{}'", chunk.keyword), &mut out);
        }
    }
    let software_fields = e
        .exif
        .iter()
        .filter_map(|x| x.software.clone())
        .chain(e.xmp.iter().filter_map(|x| x.creator_tool.clone()));
    let mut editors: Vec<String> = Vec::new();
    for software in software_fields {
        if contains_any(&software, &GENERATORS) {
            ai(format!("software '{software}'"), &mut out);
        } else if contains_any(&software, &EDITORS) {
            editors.push(software);
        }
    }
    for event in e.xmp.iter().flat_map(|x| &x.history) {
        if EDIT_ACTIONS.contains(&event.action.to_lowercase().as_str())
            && let Some(agent) = &event.software_agent
        {
            editors.push(agent.clone());
        }
    }
    if let Some(c) = &e.content_credentials {
        for action in &c.actions {
            if action.action.contains("edited")
                && let Some(agent) = &action.software_agent
            {
                editors.push(agent.clone());
            }
        }
    }
    let mut seen = Vec::new();
    for software in editors {
        if !seen.contains(&software) {
            seen.push(software.clone());
            out.push(FileFinding::EditedWith { software });
        }
    }
    if let Some(t) = &e.thumbnail
        && let Some(reason) = &t.reason
    {
        out.push(FileFinding::ThumbnailMismatch {
            reason: reason.clone(),
        });
    }
    if let Some(c) = &e.content_credentials {
        if c.is_valid() {
            out.push(FileFinding::C2paSigned {
                signer: c
                    .signer
                    .clone()
                    .unwrap_or_else(|| "an unnamed signer".into()),
            });
        } else {
            out.push(FileFinding::C2paInvalid {
                reason: c
                    .failures
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "the manifest does not validate".into()),
            });
        }
    }
    if let Some(x) = &e.exif
        && let (Some(taken), Some(modified)) = (&x.taken, &x.modified)
        && let (Some(a), Some(b)) = (super::exif::seconds(taken), super::exif::seconds(modified))
        && b - a > DATE_SLACK
    {
        out.push(FileFinding::DatesDisagree {
            taken: taken.clone(),
            modified: modified.clone(),
        });
    }
    if e.exif.as_ref().is_some_and(|x| x.make.is_some())
        && e.encoder.as_ref().is_some_and(|s| s.standard_ijg)
    {
        out.push(FileFinding::ResavedHint);
    }
    out
}
