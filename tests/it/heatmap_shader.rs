//! The WGSL heatmap overlay (what the inspector draws under the wgpu renderer) gives the same
//! picture as the CPU overlay (what it draws under glow, and what reports embed).
//!
//! Renders off-screen on any wgpu adapter, software renderers included; without one the test
//! fails unless `MCLCR_SKIP_WGPU=1` says this machine has none.

use eframe::egui_wgpu::wgpu;
use mclcr::app::heatmap_shader::HeatmapPipeline;

fn device() -> Option<(wgpu::Device, wgpu::Queue)> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::LowPower,
        ..Default::default()
    }))
    .ok()?;
    eprintln!("rendering on {}", adapter.get_info().name);
    pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default())).ok()
}

#[test]
fn the_shader_overlay_matches_the_cpu_overlay() {
    let Some((device, queue)) = device() else {
        if std::env::var_os("MCLCR_SKIP_WGPU").is_some() {
            eprintln!("skipped (MCLCR_SKIP_WGPU set): no wgpu adapter");
            return;
        }
        panic!("no wgpu adapter (install mesa-vulkan-drivers, or set MCLCR_SKIP_WGPU=1)");
    };
    let side = 112;
    let face = image::RgbImage::from_fn(side, side, |x, y| {
        image::Rgb([(x * 2) as u8, (y * 2) as u8, ((x + y) % 256) as u8])
    });
    let grid = 7;
    let map: Vec<f32> = (0..grid * grid)
        .map(|i| ((i * 37) % 11) as f32 / 49.0)
        .collect();
    let pipeline = HeatmapPipeline::new(&device, wgpu::TextureFormat::Rgba8Unorm);
    for opacity in [0.0, 0.6, 1.0] {
        let binding = pipeline.bind(&device, &queue, &face, &map, grid, opacity);
        let gpu = pipeline
            .render_offscreen(&device, &queue, &binding, side, side)
            .expect("rendered");
        let cpu = mclcr::imaging::heatmap::overlay(&face, &map, grid, opacity);
        let mut worst = 0i32;
        let mut total = 0i64;
        for (g, c) in gpu.pixels().zip(cpu.pixels()) {
            for k in 0..3 {
                let d = (g.0[k] as i32 - c.0[k] as i32).abs();
                worst = worst.max(d);
                total += d as i64;
            }
        }
        let mean = total as f64 / (side * side * 3) as f64;
        eprintln!("opacity {opacity}: mean difference {mean:.3}, worst {worst}");
        // The map is stored as 8-bit on the GPU and filtered in hardware: a few levels apart.
        assert!(
            mean < 1.5 && worst <= 12,
            "opacity {opacity}: mean {mean:.2}, worst {worst}"
        );
    }
}
