//! [`FileFinding`]: one named fact about a file (what it declares, or how its parts disagree).

use serde::Serialize;

/// One fact about the file, by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "finding")]
pub enum FileFinding {
    /// The file declares that a generative model made or edited it.
    AiGeneratedDeclared {
        /// Where it says so.
        source: String,
    },
    /// The file names an editor that wrote or changed it.
    EditedWith {
        /// The editor.
        software: String,
    },
    /// The EXIF thumbnail shows something other than the image.
    ThumbnailMismatch {
        /// How.
        reason: String,
    },
    /// A C2PA manifest whose signature and bindings validate.
    C2paSigned {
        /// The signer.
        signer: String,
    },
    /// A C2PA manifest that does not validate (tampered, or broken).
    C2paInvalid {
        /// Why.
        reason: String,
    },
    /// The file was last changed well after the picture was taken.
    DatesDisagree {
        /// `DateTimeOriginal`.
        taken: String,
        /// `DateTime`.
        modified: String,
    },
    /// Camera EXIF on a file with libjpeg's standard tables: likely saved again by software.
    ResavedHint,
}

impl FileFinding {
    /// A short machine-friendly name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::AiGeneratedDeclared { .. } => "ai_generated_declared",
            Self::EditedWith { .. } => "edited_with",
            Self::ThumbnailMismatch { .. } => "thumbnail_mismatch",
            Self::C2paSigned { .. } => "c2pa_signed",
            Self::C2paInvalid { .. } => "c2pa_invalid",
            Self::DatesDisagree { .. } => "dates_disagree",
            Self::ResavedHint => "resaved_hint",
        }
    }

    /// Words shown to users.
    pub fn describe(&self) -> String {
        match self {
            Self::AiGeneratedDeclared { source } => {
                format!("the file declares AI generation ({source})")
            }
            Self::EditedWith { software } => format!("edited with {software}"),
            Self::ThumbnailMismatch { reason } => format!("EXIF thumbnail mismatch: {reason}"),
            Self::C2paSigned { signer } => {
                format!("C2PA Content Credentials signed by {signer} (signature valid)")
            }
            Self::C2paInvalid { reason } => format!("C2PA Content Credentials invalid: {reason}"),
            Self::DatesDisagree { taken, modified } => {
                format!("changed {modified}, long after it was taken {taken}")
            }
            Self::ResavedHint => "camera EXIF but libjpeg's standard tables: likely saved again \
                                  by software (cameras mostly use their own; some phones do not)"
                .into(),
        }
    }

    /// `name` with its detail, for one-line outputs (`edited_with(Adobe Photoshop 25.0)`).
    pub fn short(&self) -> String {
        match self {
            Self::EditedWith { software } => format!("edited_with({software})"),
            Self::C2paSigned { signer } => format!("c2pa_signed({signer})"),
            other => other.name().to_string(),
        }
    }
}
