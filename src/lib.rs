//! mclcr: inspect still images for face forgeries with the MC-LCR network.
//!
//! MC-LCR (Wang et al., arXiv 2110.03290) classifies a face crop as real or manipulated from
//! two streams: a spatial CNN whose shallow feature maps are summarised by their channel Gram
//! matrices (style correlations), and a frequency stream over the log-amplitude and phase
//! spectra of image patches with a dual attention between the two.
//!
//! The crate is built in layers; a module imports only from the layers below it
//! (`tests/it/architecture.rs` checks this, and `ARCHITECTURE.md` says where each kind of change
//! belongs):
//!
//! | layer | what it holds |
//! |---|---|
//! | [`cli`] | the `mclcr` commands, one file each, with their flags |
//! | [`app`] | the desktop app: window, panels, worker threads |
//! | [`export`] | records (table, JSON Lines, CSV), the HTML report, the ROC plot |
//! | [`train`] | data sets, self-blending, the training step and loop, metrics |
//! | [`analysis`] | files to verdicts: the pipeline, verdicts, robustness, explanations |
//! | [`provenance`] | the file's own testimony: EXIF, XMP, thumbnail, encoder tables, C2PA |
//! | [`inference`], [`imaging`] | running the network on crops; files, faces and pixels |
//! | [`weights`] | assets, model files, pretrained weights |
//! | [`model`] | the network as Burn modules |
//! | [`device`], [`rng`], [`atomic_file`] | where tensors live; reproducible randomness; files written whole or not at all |

pub mod analysis;
pub mod app;
pub mod atomic_file;
pub mod cli;
pub mod device;
pub mod export;
pub mod imaging;
pub mod inference;
pub mod model;
pub mod provenance;
pub mod rng;
pub mod train;
pub mod weights;
