//! Pixels and files before any network: which files to read ([`inputs`]), reading evidence
//! safely ([`evidence`]), JPEG facts ([`jpeg`]), finding faces and cutting their crops
//! ([`faces`], [`face_finder`], with [`blazeface`] for the faces SeetaFace misses), scaling by
//! the longer side ([`scale`]), 68-point landmarks ([`landmarks`]) and colour maps for pictures
//! of numbers ([`heatmap`]).

pub mod blazeface;
pub mod evidence;
pub mod face_finder;
pub mod faces;
pub mod heatmap;
pub mod inputs;
pub mod jpeg;
pub mod landmarks;
pub mod scale;

pub use faces::FaceBox;
