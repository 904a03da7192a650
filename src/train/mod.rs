//! Learning: labelled folders made into faces ([`dataset`], remembered by [`face_cache`]), pseudo-fakes made from real faces
//! ([`selfblend`]) and where they were blended ([`blend_map`], an auxiliary target), an epoch's [`batches`] (degraded as video frames are, [`video_like`]), one optimisation [`step`] (and its speed, [`bench`]), the epochs with
//! validation ([`session`]) and their files ([`checkpoint`]), what a run is configured by
//! ([`options`]) and reports ([`events`]), detection [`metrics`], a model's [`eval`]uation (per method and video as a data set's [`manifest`] says), and [`run`]: a whole run from
//! folders, used by `mclcr train` and the app alike.

pub mod ahead;
pub mod auc_interval;
pub mod batches;
pub mod bench;
pub mod blend_map;
pub mod blend_region;
pub mod checkpoint;
pub mod dataset;
pub mod eval;
pub mod events;
pub mod face_cache;
pub mod manifest;
pub mod metrics;
pub mod options;
pub mod pair_relight;
pub mod pair_warp;
pub mod run;
pub mod selfblend;
pub mod session;
pub mod source_size;
pub mod step;
pub mod video_like;

pub use checkpoint::read_state;
pub use events::{EpochRecord, TrainError, TrainEvent, TrainState};
pub use options::{BandTargets, TrainOptions};
pub use run::{TrainRequest, run};
pub use session::train;
