//! End-to-end tests, in one binary so that the heavy dependencies are linked once.

mod analyze;
mod architecture;
mod average_weights;
mod blazeface;
mod cli;
mod common;
mod compare_scores;
mod faults;
mod fuzz;
mod gui;
mod heatmap_shader;
mod hostile_names;
mod imagenet;
mod landmarks;
mod model_card;
mod model_card_realworld;
mod model_store;
mod parity;
mod provenance;
mod train;
mod wgpu_parity;
