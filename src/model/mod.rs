//! The MC-LCR network as Burn modules.
//!
//! Layout, from input to verdict:
//! - [`backbone`]: the spatial CNN ([`efficientnet`] EfficientNet-Lite by default, [`xception`]
//!   selectable), exposing three shallow taps and its last feature map;
//! - [`style`]: the Shallow Style Representation Block, Gram matrices of the taps ([`gram`]);
//! - [`frequency`]: patch spectra embeddings, [`dual_attention`] (PA-PDA) and [`mixer`] layers;
//! - [`mclcr`]: fusion, classifier and projection head, the forward pass and its outputs;
//! - [`loss`]: cross-entropy + supervised contrastive loss;
//! - [`landmark68`]: face-api's 68-point landmark network (for blending masks);
//! - [`blazeface`]: MediaPipe's BlazeFace back-camera face detector network;
//! - [`cpu_ops`] (inference) and [`kernels`] (training: forward and backward) fast CPU paths.
//!
//! Modules only: no file I/O here. Weights are read and written by [`crate::weights`].

pub mod backbone;
pub mod blazeface;
pub mod conv_bn;
pub mod cpu_ops;
pub mod dual_attention;
pub mod efficientnet;
pub mod frequency;
pub mod gram;
pub mod kernels;
pub mod landmark68;
pub mod loss;
pub mod mclcr;
pub mod mixer;
pub mod size;
pub mod style;
pub mod xception;

pub use mclcr::{Mclcr, MclcrConfig, MclcrInput, MclcrOutput};
