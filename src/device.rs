//! Choosing where the network runs: a real GPU through wgpu, or the CPU (Burn's `flex` backend).
//!
//! The rule users see:
//! - `auto` uses a hardware GPU when wgpu finds one and falls back to the CPU otherwise, with a
//!   one-line notice saying why. A software rasteriser (Mesa's llvmpipe / lavapipe, which wgpu
//!   reports as a `Cpu` device) is never picked by `auto`: it is tens of times slower than the
//!   CPU backend.
//! - `gpu` demands a hardware GPU and fails with a clear error when there is none.
//! - `wgpu` takes any wgpu adapter, software ones included (for testing the GPU code path on
//!   machines without a GPU).
//! - `cpu` always uses the CPU.
//!
//! Adapters are probed explicitly before any tensor is created: a wgpu device created lazily
//! would panic at its first operation when no adapter exists.

use std::fmt;
use std::str::FromStr;

/// The allocator of every program built on mclcr (the binary, its tests and benchmarks).
/// CPU tensors are allocated and freed by the megabyte on every layer; see
/// [`keep_freed_memory`].
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (v2 and v3 alike).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells the allocator to keep freed pages for reuse instead of returning them to the system.
/// glibc's malloc (and mimalloc by default) hand large tensor buffers back, and the next one
/// takes a page fault for every 4 KiB; keeping them makes a CPU training step about a fifth
/// faster (`mclcr bench --train`). The process keeps its peak memory until it exits. Call it
/// once, first thing in `main`.
pub fn keep_freed_memory() {
    // SAFETY: sets a process-wide option of the allocator, which mimalloc allows at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

use burn::tensor::{Device, DeviceKind};
use serde::{Deserialize, Serialize};

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// A hardware GPU when one exists, otherwise the CPU.
    #[default]
    Auto,
    /// The CPU (`flex` backend).
    Cpu,
    /// A hardware GPU through wgpu; an error when none exists.
    Gpu,
    /// Any wgpu adapter, including software renderers such as lavapipe.
    Wgpu,
}

impl DeviceChoice {
    /// Every choice, in the order the CLI documents them.
    pub const ALL: [DeviceChoice; 4] = [Self::Auto, Self::Cpu, Self::Gpu, Self::Wgpu];

    /// The name used on the command line and in settings files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::Gpu => "gpu",
            Self::Wgpu => "wgpu",
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown device '{s}' (expected auto, cpu, gpu or wgpu)"))
    }
}

/// Why a device could not be had.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// No wgpu adapter of the kind asked for exists on this machine.
    #[error(
        "no {wanted} found by wgpu; adapters seen: {seen}. Use --device cpu (or auto) to run on the CPU"
    )]
    NoAdapter {
        /// What was asked for, in words.
        wanted: &'static str,
        /// The adapters wgpu listed, or "none".
        seen: String,
    },
    /// An adapter exists but the wgpu runtime could not start on it.
    #[error("the wgpu adapter '{adapter}' could not be initialised: {message}")]
    Init {
        /// Adapter name.
        adapter: String,
        /// wgpu's own message.
        message: String,
    },
}

/// One adapter as wgpu reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdapterSummary {
    /// The adapter's name (e.g. "NVIDIA H200", "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub name: String,
    /// The graphics API it was found on (Vulkan, Gl, Metal, Dx12).
    pub backend: String,
    /// What wgpu calls the device type (DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu, Other).
    pub device_type: String,
    /// Whether this is real GPU hardware (not a software rasteriser).
    pub hardware: bool,
    /// The burn device selector that addresses it.
    #[serde(skip)]
    kind: Option<DeviceKind>,
}

impl fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.name, self.backend, self.device_type)
    }
}

/// Lists the adapters wgpu can see, honouring `WGPU_BACKEND` when it is set.
pub fn list_adapters() -> Vec<AdapterSummary> {
    use wgpu::DeviceType;
    // OpenGL is left out: Burn does not compute on it, and probing it makes EGL print noise.
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = pollster::block_on(instance.enumerate_adapters(backends));
    // cubecl addresses adapters per type, counting from zero for each type.
    let mut counters = [0usize; 4];
    adapters
        .iter()
        .map(|adapter| {
            let info = adapter.get_info();
            let mut next = |slot: usize| {
                let index = counters[slot];
                counters[slot] += 1;
                index
            };
            let kind = match info.device_type {
                DeviceType::DiscreteGpu => Some(DeviceKind::DiscreteGpu(next(0))),
                DeviceType::IntegratedGpu => Some(DeviceKind::IntegratedGpu(next(1))),
                DeviceType::VirtualGpu => Some(DeviceKind::VirtualGpu(next(2))),
                DeviceType::Cpu => Some(DeviceKind::Cpu),
                DeviceType::Other => None,
            };
            AdapterSummary {
                name: info.name.clone(),
                backend: format!("{:?}", info.backend),
                device_type: format!("{:?}", info.device_type),
                hardware: matches!(
                    info.device_type,
                    DeviceType::DiscreteGpu | DeviceType::IntegratedGpu | DeviceType::VirtualGpu
                ),
                kind,
            }
        })
        .collect()
}

/// A device ready for tensors, with the words to tell the user what it is.
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    /// The Burn device (inference; call [`Device::autodiff`] for training).
    pub device: Device,
    /// Short name shown to users, e.g. "GPU: NVIDIA H200 (Vulkan)" or "CPU".
    pub label: String,
    /// Whether the device is a wgpu adapter (GPU or software renderer).
    pub is_wgpu: bool,
    /// A one-line notice for the user when `auto` fell back to the CPU, saying why.
    pub notice: Option<String>,
}

impl SelectedDevice {
    /// The CPU device (Burn's `flex` backend).
    pub fn cpu() -> Self {
        Self {
            device: Device::flex(),
            label: format!("CPU ({} threads)", cpu_threads()),
            is_wgpu: false,
            notice: None,
        }
    }
}

/// Number of threads the CPU backend uses.
pub fn cpu_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Resolves a [`DeviceChoice`] to a device, probing wgpu first. Never panics for lack of a GPU.
pub fn select(choice: DeviceChoice) -> Result<SelectedDevice, DeviceError> {
    if choice == DeviceChoice::Cpu {
        return Ok(SelectedDevice::cpu());
    }
    let adapters = list_adapters();
    let seen = if adapters.is_empty() {
        "none".to_string()
    } else {
        adapters
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let hardware = adapters.iter().find(|a| a.hardware && a.kind.is_some());
    let pick = match choice {
        DeviceChoice::Auto | DeviceChoice::Gpu => hardware,
        DeviceChoice::Wgpu => hardware.or_else(|| adapters.iter().find(|a| a.kind.is_some())),
        DeviceChoice::Cpu => None,
    };
    let Some(adapter) = pick else {
        if choice == DeviceChoice::Auto {
            let mut cpu = SelectedDevice::cpu();
            cpu.notice = Some(format!(
                "no hardware GPU found (wgpu adapters: {seen}); running on the CPU"
            ));
            return Ok(cpu);
        }
        let wanted = if choice == DeviceChoice::Gpu {
            "hardware GPU"
        } else {
            "wgpu adapter"
        };
        return Err(DeviceError::NoAdapter { wanted, seen });
    };
    match init_wgpu(adapter) {
        Ok(selected) => Ok(selected),
        Err(err) if choice == DeviceChoice::Auto => {
            let mut cpu = SelectedDevice::cpu();
            cpu.notice = Some(format!("{err}; running on the CPU"));
            Ok(cpu)
        }
        Err(err) => Err(err),
    }
}

fn init_wgpu(adapter: &AdapterSummary) -> Result<SelectedDevice, DeviceError> {
    let kind = adapter.kind.clone().unwrap_or(DeviceKind::DefaultDevice);
    let (device, setup) = Device::wgpu_options()
        .device_kind(kind)
        .init_with_setup()
        .map_err(|e| DeviceError::Init {
            adapter: adapter.name.clone(),
            message: e.to_string(),
        })?;
    let info = setup.adapter.get_info();
    let what = if adapter.hardware {
        "GPU"
    } else {
        "software wgpu"
    };
    Ok(SelectedDevice {
        device,
        label: format!("{what}: {} ({:?})", info.name, info.backend),
        is_wgpu: true,
        notice: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_parses_case_insensitively_and_rejects_unknown() {
        assert_eq!("AUTO".parse::<DeviceChoice>(), Ok(DeviceChoice::Auto));
        assert_eq!("gpu".parse::<DeviceChoice>(), Ok(DeviceChoice::Gpu));
        let err = "tpu".parse::<DeviceChoice>().unwrap_err();
        assert!(err.contains("tpu"), "{err}");
    }

    #[test]
    fn cpu_choice_needs_no_adapter() {
        let selected = select(DeviceChoice::Cpu).unwrap();
        assert!(!selected.is_wgpu);
        assert!(selected.notice.is_none());
    }
}
