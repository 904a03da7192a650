//! `mclcr gui`: the desktop app, optionally with inputs queued.

use std::path::PathBuf;

/// Arguments of `mclcr gui`.
#[derive(Debug, clap::Args)]
pub struct GuiArgs {
    /// Images or folders to analyse at start.
    pub inputs: Vec<PathBuf>,
    /// Window renderer: auto (wgpu, then OpenGL if wgpu cannot start), wgpu, or glow (OpenGL).
    #[arg(long, default_value = "auto")]
    pub renderer: crate::app::RendererChoice,
}
