// Attention heatmap over a face crop, composited on the GPU.
//
// The face (RGBA8, gamma-encoded sRGB values as stored) is mixed with the inferno colour of the
// attention map at the same place: out = face * (1 - opacity) + inferno(map) * opacity.
// The map is a small normalised grid (one texel per patch, 0..1) sampled bilinearly with
// clamped edges, so it is smoothed over the face exactly as the CPU fallback does.
// The quad covers the whole viewport, which egui sets to the widget's rectangle.

struct Params {
    opacity: f32,
    _pad0: f32,
    _pad1: f32,
    _pad2: f32,
};

@group(0) @binding(0) var face_texture: texture_2d<f32>;
@group(0) @binding(1) var map_texture: texture_2d<f32>;
@group(0) @binding(2) var linear_sampler: sampler;
@group(0) @binding(3) var<uniform> params: Params;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    var corners = array<vec2<f32>, 6>(
        vec2<f32>(0.0, 0.0), vec2<f32>(1.0, 0.0), vec2<f32>(0.0, 1.0),
        vec2<f32>(0.0, 1.0), vec2<f32>(1.0, 0.0), vec2<f32>(1.0, 1.0),
    );
    let uv = corners[index];
    var out: VertexOut;
    out.position = vec4<f32>(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
    out.uv = uv;
    return out;
}

// The inferno colour map, 9 stops (the same table as src/heatmap.rs), linearly interpolated.
fn inferno(t_in: f32) -> vec3<f32> {
    var stops = array<vec3<f32>, 9>(
        vec3<f32>(0.001, 0.000, 0.014),
        vec3<f32>(0.106, 0.047, 0.255),
        vec3<f32>(0.316, 0.071, 0.485),
        vec3<f32>(0.517, 0.149, 0.515),
        vec3<f32>(0.716, 0.215, 0.475),
        vec3<f32>(0.894, 0.318, 0.329),
        vec3<f32>(0.986, 0.533, 0.141),
        vec3<f32>(0.976, 0.788, 0.196),
        vec3<f32>(0.988, 0.998, 0.645),
    );
    let x = clamp(t_in, 0.0, 1.0) * 8.0;
    let i = min(u32(floor(x)), 7u);
    let f = x - f32(i);
    return mix(stops[i], stops[i + 1u], f);
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let face = textureSample(face_texture, linear_sampler, in.uv).rgb;
    let weight = textureSample(map_texture, linear_sampler, in.uv).r;
    let colour = inferno(weight);
    return vec4<f32>(mix(face, colour, params.opacity), 1.0);
}
