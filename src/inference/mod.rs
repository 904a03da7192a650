//! Running the network on face crops: the input it needs ([`preprocess`], the patch spectra of
//! [`spectrum`]), the active model with its outputs per face ([`scorer`]) and how fast that is
//! ([`bench`]).

pub mod bench;
pub mod preprocess;
pub mod scorer;
pub mod spectrum;

pub use scorer::{FaceScore, Scorer};
