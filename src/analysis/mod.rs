//! From image files to verdicts, as [`options`] say: the streaming [`pipeline`] (each file [`decode`]d and cut into
//! faces on worker threads, faces scored in batches, [`maps`] written), what it says about each
//! image ([`report`]), the [`verdict`] bands and flags, the [`robustness`] re-score and the
//! inspector's [`explain`]ation of one face.

pub mod decode;
pub mod explain;
pub mod maps;
pub mod options;
pub mod pipeline;
pub mod report;
pub mod robustness;
pub mod verdict;

pub use options::ScanOptions;
pub use pipeline::scan;
pub use report::{FaceReport, ImageReport};
pub use verdict::{Band, Flag};
