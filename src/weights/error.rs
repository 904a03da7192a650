//! Errors from reading and writing weight and model files. Every variant names the file.

use std::path::PathBuf;

/// What went wrong with a weight or model file.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// The file could not be read or written.
    // The OS error is part of the message, not a `source`: callers printing the error chain
    // would otherwise show it twice.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The file could not be written; the old one, if any, is unchanged.
    #[error(transparent)]
    Write(#[from] crate::atomic_file::WriteError),
    /// The file's checksum is not the one recorded for it.
    #[error(
        "{path}: SHA-256 is {actual}, expected {expected} (the file is damaged or not the one recorded)"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The recorded checksum.
        expected: String,
        /// The checksum of the file on disk.
        actual: String,
    },
    /// The file is not a readable weights file (truncated, wrong format).
    #[error("{path}: not a readable safetensors file: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The reader's message.
        message: String,
    },
    /// The file's tensors do not fit the network (missing tensors, wrong shapes).
    #[error("{path}: weights do not fit the network: {message}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What did not fit.
        message: String,
    },
    /// A model manifest could not be parsed or is inconsistent.
    #[error("{path}: invalid model manifest: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl ModelFileError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            error,
        }
    }
}
