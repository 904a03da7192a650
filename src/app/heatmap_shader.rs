//! The attention overlay drawn by `shaders/heatmap.wgsl` on the GPU, through an egui_wgpu paint
//! callback. [`HeatmapPipeline`] is the pipeline, usable on any wgpu device (the window's, or
//! one made for an off-screen check); [`HeatmapCallback`] paints one overlay inside egui.

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui;
use eframe::egui_wgpu::{self, wgpu};
use image::{RgbImage, RgbaImage};

use crate::analysis::explain::FaceExplanation;

/// The WGSL source.
pub const SHADER: &str = include_str!("../../shaders/heatmap.wgsl");

/// The compiled pipeline and what its bind groups need.
pub struct HeatmapPipeline {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
}

/// One overlay's textures and parameters, bound for drawing.
pub struct HeatmapBinding {
    bind_group: wgpu::BindGroup,
    params: wgpu::Buffer,
}

impl HeatmapBinding {
    /// Changes the opacity (a 16-byte uniform write; no texture is touched).
    pub fn set_opacity(&self, queue: &wgpu::Queue, opacity: f32) {
        queue.write_buffer(&self.params, 0, &params_bytes(opacity));
    }
}

fn params_bytes(opacity: f32) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&opacity.clamp(0.0, 1.0).to_le_bytes());
    bytes
}

fn texture_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::FRAGMENT,
        ty: wgpu::BindingType::Texture {
            sample_type: wgpu::TextureSampleType::Float { filterable: true },
            view_dimension: wgpu::TextureViewDimension::D2,
            multisampled: false,
        },
        count: None,
    }
}

impl HeatmapPipeline {
    /// Compiles the shader for render targets of `format`.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("mclcr heatmap"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("mclcr heatmap"),
            entries: &[
                texture_entry(0),
                texture_entry(1),
                wgpu::BindGroupLayoutEntry {
                    binding: 2,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 3,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("mclcr heatmap"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("mclcr heatmap"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState::default(),
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("mclcr heatmap"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        Self {
            pipeline,
            layout,
            sampler,
        }
    }

    /// Uploads a face and its attention map (`grid × grid`, any scale: it is normalised here,
    /// as on the CPU) and binds them at `opacity`.
    pub fn bind(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        face: &RgbImage,
        map: &[f32],
        grid: usize,
        opacity: f32,
    ) -> HeatmapBinding {
        let face_rgba: Vec<u8> = face
            .pixels()
            .flat_map(|p| [p.0[0], p.0[1], p.0[2], 255])
            .collect();
        let face_view = upload(
            device,
            queue,
            &face_rgba,
            face.width(),
            face.height(),
            wgpu::TextureFormat::Rgba8Unorm,
            4,
        );
        let map_bytes: Vec<u8> = crate::imaging::heatmap::normalise(map)
            .iter()
            .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
            .collect();
        let map_view = upload(
            device,
            queue,
            &map_bytes,
            grid as u32,
            grid as u32,
            wgpu::TextureFormat::R8Unorm,
            1,
        );
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("mclcr heatmap params"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        queue.write_buffer(&params, 0, &params_bytes(opacity));
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("mclcr heatmap"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&face_view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(&map_view),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: wgpu::BindingResource::Sampler(&self.sampler),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: params.as_entire_binding(),
                },
            ],
        });
        HeatmapBinding { bind_group, params }
    }

    /// Draws a bound overlay over the pass's whole viewport.
    pub fn draw(&self, pass: &mut wgpu::RenderPass<'_>, binding: &HeatmapBinding) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &binding.bind_group, &[]);
        pass.draw(0..6, 0..1);
    }

    /// Renders an overlay off-screen at `width × height` and reads it back (for checks and
    /// exports); the pipeline must have been made for `Rgba8Unorm`.
    pub fn render_offscreen(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        binding: &HeatmapBinding,
        width: u32,
        height: u32,
    ) -> Option<RgbaImage> {
        let target = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("mclcr heatmap target"),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba8Unorm,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = target.create_view(&Default::default());
        let row = (width * 4).div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT)
            * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("mclcr heatmap readback"),
            size: (row * height) as u64,
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("mclcr heatmap"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            });
            self.draw(&mut pass, binding);
        }
        encoder.copy_texture_to_buffer(
            target.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(row),
                    rows_per_image: Some(height),
                },
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
        queue.submit([encoder.finish()]);
        let slice = readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        device.poll(wgpu::PollType::wait_indefinitely()).ok()?;
        rx.recv().ok()?.ok()?;
        let data = slice.get_mapped_range().ok()?;
        let mut pixels = Vec::with_capacity((width * height * 4) as usize);
        for y in 0..height as usize {
            let start = y * row as usize;
            pixels.extend_from_slice(&data[start..start + width as usize * 4]);
        }
        drop(data);
        readback.unmap();
        RgbaImage::from_raw(width, height, pixels)
    }
}

fn upload(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    bytes: &[u8],
    width: u32,
    height: u32,
    format: wgpu::TextureFormat,
    bytes_per_pixel: u32,
) -> wgpu::TextureView {
    let size = wgpu::Extent3d {
        width: width.max(1),
        height: height.max(1),
        depth_or_array_layers: 1,
    };
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("mclcr heatmap input"),
        size,
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    });
    queue.write_texture(
        texture.as_image_copy(),
        bytes,
        wgpu::TexelCopyBufferLayout {
            offset: 0,
            bytes_per_row: Some(width * bytes_per_pixel),
            rows_per_image: Some(height),
        },
        size,
    );
    texture.create_view(&Default::default())
}

/// What the window's renderer keeps for the overlays: the pipeline and one binding per slot.
pub struct HeatmapResources {
    pipeline: HeatmapPipeline,
    slots: HashMap<usize, (u64, HeatmapBinding)>,
}

/// Registers the pipeline with the window's wgpu renderer; afterwards [`HeatmapCallback`]s draw.
pub fn install(render_state: &egui_wgpu::RenderState) {
    let pipeline = HeatmapPipeline::new(&render_state.device, render_state.target_format);
    render_state
        .renderer
        .write()
        .callback_resources
        .insert(HeatmapResources {
            pipeline,
            slots: HashMap::new(),
        });
}

/// One overlay to paint: an explanation's face crop with its amplitude (slot 0) or phase
/// (slot 1) attention at an opacity. A slot's textures are re-uploaded only when `content`
/// changes.
pub struct HeatmapCallback {
    /// 0: amplitude attention, 1: phase attention.
    pub slot: usize,
    /// Identifies the explanation (a new value re-uploads the textures).
    pub content: u64,
    /// The explanation.
    pub explanation: Arc<FaceExplanation>,
    /// Heatmap opacity.
    pub opacity: f32,
}

impl egui_wgpu::CallbackTrait for HeatmapCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(res) = resources.get_mut::<HeatmapResources>() {
            let stale = res
                .slots
                .get(&self.slot)
                .is_none_or(|(content, _)| *content != self.content);
            if stale {
                let score = &self.explanation.score;
                let map = if self.slot == 0 {
                    &score.amplitude_map
                } else {
                    &score.phase_map
                };
                let binding = res.pipeline.bind(
                    device,
                    queue,
                    &self.explanation.crop,
                    map,
                    score.grid,
                    self.opacity,
                );
                res.slots.insert(self.slot, (self.content, binding));
            } else if let Some((_, binding)) = res.slots.get(&self.slot) {
                binding.set_opacity(queue, self.opacity);
            }
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(res) = resources.get::<HeatmapResources>()
            && let Some((_, binding)) = res.slots.get(&self.slot)
        {
            res.pipeline.draw(pass, binding);
        }
    }
}
