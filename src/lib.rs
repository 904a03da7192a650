//! mclcr: inspect still images for face forgeries with the MC-LCR network.
//!
//! MC-LCR (Wang et al., arXiv 2110.03290) classifies a face crop as real or manipulated from
//! two streams: a spatial CNN whose shallow feature maps are summarised by their channel Gram
//! matrices (style correlations), and a frequency stream over the log-amplitude and phase
//! spectra of image patches with a dual attention between the two.
//!
//! - the network: [`model`]; its input: [`preprocess`], [`spectrum`]; where it runs: [`device`];
//! - from files to verdicts: [`evidence`] (safe image loading), [`jpeg`], [`faces`]
//!   (detection and crops), [`scorer`] (the active model), [`verdict`] (bands and flags),
//!   [`scan`] (the streaming pipeline), [`heatmap`] and [`output`] (reports);
//! - learning: [`selfblend`] (pseudo-fakes from real faces), [`training`] (loss, optimiser,
//!   schedule), [`metrics`] (accuracy, ROC, AUC, EER), [`rng`];
//! - shipped files: [`assets`]; the command line: [`cli`]; speed: [`bench`].

pub mod app;
pub mod assets;
pub mod bench;
pub mod cli;
pub mod dataset;
pub mod device;
pub mod evidence;
pub mod explain;
pub mod faces;
pub mod heatmap;
pub mod jpeg;
pub mod landmarks;
pub mod metrics;
pub mod model;
pub mod output;
pub mod pack;
pub mod preprocess;
pub mod report;
pub mod rng;
pub mod robustness;
pub mod roc_plot;
pub mod scan;
pub mod scorer;
pub mod selfblend;
pub mod spectrum;
pub mod synth;
pub mod train;
pub mod train_cli;
pub mod training;
pub mod verdict;
