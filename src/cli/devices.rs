//! `mclcr devices`: the compute devices mclcr sees and what `auto` picks.

use std::process::ExitCode;

use crate::device::{self, DeviceChoice};

/// Flags of `mclcr devices`.
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Print JSON Lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mclcr devices`.
pub fn run(args: DevicesArgs) -> anyhow::Result<ExitCode> {
    let adapters = device::list_adapters();
    if args.json {
        for adapter in &adapters {
            println!("{}", serde_json::to_string(adapter)?);
        }
    } else if adapters.is_empty() {
        println!("wgpu adapters: none");
    } else {
        println!("wgpu adapters:");
        for adapter in &adapters {
            let kind = if adapter.hardware { "GPU" } else { "software" };
            println!("  {adapter} [{kind}]");
        }
    }
    let selected = device::select(DeviceChoice::Auto)?;
    if !args.json {
        println!("auto picks: {}", selected.label);
        if let Some(notice) = &selected.notice {
            println!("  ({notice})");
        }
    }
    Ok(ExitCode::SUCCESS)
}
