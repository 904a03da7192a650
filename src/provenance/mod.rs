//! The file's own testimony: what the file says about itself, read from its bytes — EXIF
//! (camera, software, times, GPS, embedded thumbnail), XMP (creator tool, edit history, IPTC
//! digital source type), the ICC profile's name, PNG text chunks, the JPEG encoder's
//! quantisation tables and C2PA Content Credentials.
//!
//! These are facts read from the file, not a statistical verdict, and they are kept apart from
//! the network's: a finding says what the file declares (or how its parts disagree), never that
//! the face is authentic. Metadata is easy to strip or forge, so its absence proves nothing.
//!
//! Every parser runs on hostile input: each one is bounded in what it reads, and a parser that
//! fails (or panics) leaves a one-line note in [`FileEvidence::notes`] instead of failing the file.

mod content_credentials;
mod encoder;
mod evidence;
mod exif;
mod facts;
mod finding;
mod findings;
mod icc;
mod png_text;
mod thumbnail;
mod xmp;

use std::panic::{AssertUnwindSafe, catch_unwind};

use image::RgbImage;

pub use content_credentials::{ContentCredentials, CredentialAction};
pub use encoder::EncoderSignature;
pub use evidence::{CARD, FileEvidence};
pub use exif::{ExifFacts, Gps};
pub use facts::Fact;
pub use finding::FileFinding;
pub use png_text::TextChunk;
pub use thumbnail::ThumbnailCheck;
pub use xmp::{HistoryEvent, XmpFacts};

impl FileEvidence {
    /// Reads the file's own evidence from its bytes. `format` is the container's name as
    /// [`crate::imaging::evidence`] gives it; `image` is the decoded picture (orientation applied),
    /// against which the EXIF thumbnail is compared; `icc` is the colour profile its decoder
    /// found.
    pub fn read(bytes: &[u8], format: &str, image: &RgbImage, icc: Option<&[u8]>) -> Self {
        let mut out = Self::default();
        let mut notes = Vec::new();
        let exif = guarded("EXIF", &mut notes, || exif::read(bytes));
        if let Some(exif) = exif {
            if let Some(jpeg) = &exif.thumbnail_jpeg {
                out.thumbnail = guarded("EXIF thumbnail", &mut notes, || {
                    thumbnail::compare(jpeg, exif.facts.orientation, image)
                });
            }
            out.exif = Some(exif.facts);
        }
        out.xmp = guarded("XMP", &mut notes, || xmp::read(bytes));
        if let Some(icc) = icc {
            out.icc_profile = guarded("ICC profile", &mut notes, || icc::read(icc));
        }
        if format == "PNG" {
            out.png_text = guarded("PNG text", &mut notes, || png_text::read(bytes).map(Some))
                .unwrap_or_default();
        }
        if format == "JPEG" {
            out.encoder = guarded("JPEG tables", &mut notes, || Ok(encoder::read(bytes)));
        }
        out.content_credentials = guarded("C2PA", &mut notes, || {
            Ok(content_credentials::read(bytes, format))
        });
        out.notes = notes;
        out.findings = findings::derive(&out);
        out
    }
}

/// Runs one parser; its error, or a panic, becomes a note instead of failing the file.
fn guarded<T>(
    part: &str,
    notes: &mut Vec<String>,
    parse: impl FnOnce() -> Result<Option<T>, String>,
) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(parse)) {
        Ok(Ok(value)) => value,
        Ok(Err(message)) => {
            notes.push(format!("{part}: {message}"));
            None
        }
        Err(_) => {
            notes.push(format!("{part}: the parser failed on malformed data"));
            None
        }
    }
}
