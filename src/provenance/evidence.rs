//! [`FileEvidence`]: everything read from one file, with its findings and notes.

use serde::Serialize;

use super::content_credentials::ContentCredentials;
use super::encoder::EncoderSignature;
use super::exif::ExifFacts;
use super::finding::FileFinding;
use super::png_text::TextChunk;
use super::thumbnail::ThumbnailCheck;
use super::xmp::XmpFacts;

/// Everything the file says about itself.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileEvidence {
    /// EXIF facts (camera, software, times, GPS, orientation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exif: Option<ExifFacts>,
    /// XMP facts (creator tool, history, digital source type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xmp: Option<XmpFacts>,
    /// The embedded ICC colour profile's description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icc_profile: Option<String>,
    /// PNG text chunks (keyword and text), where generators often write their prompts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub png_text: Vec<TextChunk>,
    /// The EXIF thumbnail compared with the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<ThumbnailCheck>,
    /// The JPEG encoder's quantisation tables and what they match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderSignature>,
    /// C2PA Content Credentials, when the file carries a manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_credentials: Option<ContentCredentials>,
    /// What follows from all of the above.
    pub findings: Vec<FileFinding>,
    /// Parts of the file that could not be read, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What the File view says about itself: what this evidence can and cannot tell.
pub const CARD: &str = "Facts read from the file's own metadata, not a statistical verdict. \
A declared origin (C2PA, XMP, PNG text) is what the file says about itself; a valid C2PA \
signature proves who signed the claim, not that the claim is true. Metadata is easily stripped \
or rewritten: missing metadata proves nothing, and most platforms strip it on upload.";

impl FileEvidence {
    /// Whether the file declares that it was made or edited by a generative model.
    pub fn declares_ai(&self) -> bool {
        self.findings
            .iter()
            .any(|f| matches!(f, FileFinding::AiGeneratedDeclared { .. }))
    }
}
