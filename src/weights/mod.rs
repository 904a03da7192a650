//! Files of weights and models: where shipped assets live ([`assets`]), whole models as a JSON
//! manifest plus safetensors ([`store`]), the ImageNet backbone weights with key remapping
//! ([`pretrained`]) and what can go wrong reading them ([`error`]).
//!
//! Everything that touches a weights file is here; [`crate::model`] holds the modules only.

pub mod assets;
pub mod error;
pub(crate) mod model_files;
pub mod pretrained;
pub mod store;

pub use error::ModelFileError;
pub use store::{BandThresholds, ModelManifest, load_model, save_model};
