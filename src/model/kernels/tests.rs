//! Values and gradients of the training kernels against Burn's operations and finite differences.

use super::*;
use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::tensor::Distribution;

fn random(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

fn close(a: &[f32], b: &[f32], tolerance: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let worst = a
        .iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0f32, f32::max);
    assert!(worst < tolerance, "{what}: off by {worst}");
}

/// The backbone's depthwise convolutions (TensorFlow "same" padding, asymmetric at stride 2)
/// and odd sizes.
fn depthwise_cases(device: &Device) -> Vec<(Conv2d, [usize; 4])> {
    [
        (3, 1, [2, 4, 9, 7]),
        (3, 2, [2, 4, 8, 8]),
        (5, 2, [1, 3, 9, 10]),
        (5, 1, [2, 2, 6, 5]),
        (3, 2, [1, 2, 1, 1]),
    ]
    .into_iter()
    .map(|(kernel, stride, shape)| {
        let channels = shape[1];
        let conv = burn::nn::conv::Conv2dConfig::new([channels, channels], [kernel; 2])
            .with_stride([stride; 2])
            .with_groups(channels)
            .with_padding(PaddingConfig2d::Same)
            .with_bias(false)
            .init(device);
        (conv, shape)
    })
    .collect()
}

/// 1×1 convolutions (the expansions and projections), with and without a bias.
fn pointwise_cases(device: &Device) -> Vec<(Conv2d, [usize; 4])> {
    [(3, 5, true, [2, 3, 4, 6]), (4, 2, false, [1, 4, 3, 3])]
        .into_iter()
        .map(|(cin, cout, bias, shape)| {
            let conv = burn::nn::conv::Conv2dConfig::new([cin, cout], [1, 1])
                .with_bias(bias)
                .init(device);
            (conv, shape)
        })
        .collect()
}

#[test]
fn fast_convolutions_match_burn_forward_and_backward() {
    let device = Device::flex().autodiff();
    let cases = depthwise_cases(&device)
        .into_iter()
        .chain(pointwise_cases(&device));
    for (conv, shape) in cases {
        let x = random(shape, &device).require_grad();
        let upstream = random(conv.forward(x.clone()).dims(), &device);
        let ours = conv2d(x.clone(), &conv);
        let burns = conv.forward(x.clone());
        let what = format!("{shape:?} stride {:?}", conv.stride);
        close(&values(ours.clone()), &values(burns.clone()), 1e-5, &what);
        let ours_grads = (ours * upstream.clone()).sum().backward();
        let burns_grads = (burns * upstream).sum().backward();
        for (name, ours, burns) in [
            (
                "x",
                x.grad(&ours_grads).map(values),
                x.grad(&burns_grads).map(values),
            ),
            (
                "weight",
                conv.weight.val().grad(&ours_grads).map(values),
                conv.weight.val().grad(&burns_grads).map(values),
            ),
            (
                "bias",
                conv.bias
                    .as_ref()
                    .and_then(|b| b.val().grad(&ours_grads))
                    .map(values),
                conv.bias
                    .as_ref()
                    .and_then(|b| b.val().grad(&burns_grads))
                    .map(values),
            ),
        ] {
            if name == "bias" && conv.bias.is_none() {
                continue;
            }
            let (ours, burns) = (ours.expect("our gradient"), burns.expect("Burn's gradient"));
            close(&ours, &burns, 1e-4, &format!("{what}: d{name}"));
        }
    }
}

/// Central finite differences of `Σ upstream · f(x)` against the recorded gradient, at a few
/// inputs.
fn finite_difference_check(
    f: &dyn Fn(Tensor<4>) -> Tensor<4>,
    x: Vec<f32>,
    shape: [usize; 4],
    what: &str,
) {
    let device = Device::flex().autodiff();
    let input = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, shape), &device);
    let x_tensor = input(x.clone()).require_grad();
    let out = f(x_tensor.clone());
    let upstream = random(out.dims(), &device);
    let grads = (out * upstream.clone()).sum().backward();
    let analytic = values(x_tensor.grad(&grads).expect("a gradient"));
    let loss = |v: Vec<f32>| -> f64 {
        values(f(input(v)) * upstream.clone())
            .iter()
            .map(|&p| p as f64)
            .sum()
    };
    let h = 1e-2f32;
    for i in (0..x.len()).step_by((x.len() / 23).max(1)) {
        let (mut plus, mut minus) = (x.clone(), x.clone());
        plus[i] += h;
        minus[i] -= h;
        let numeric = ((loss(plus) - loss(minus)) / (2.0 * h as f64)) as f32;
        assert!(
            (numeric - analytic[i]).abs() < 2e-2 * (1.0 + numeric.abs()),
            "{what}: d/dx[{i}] numeric {numeric} vs {}",
            analytic[i]
        );
    }
}

#[test]
fn fast_convolution_gradients_match_finite_differences() {
    let device = Device::flex().autodiff();
    let cases = depthwise_cases(&device)
        .into_iter()
        .chain(pointwise_cases(&device));
    for (conv, shape) in cases {
        let x = values(random(shape, &device));
        let what = format!("conv {shape:?} stride {:?}", conv.stride);
        finite_difference_check(&|x| conv2d(x, &conv), x, shape, &what);
        // The weight gradient: the same check with the roles swapped (the weight as input).
        let input = random(shape, &device);
        let weight = values(conv.weight.val());
        let weight_shape = conv.weight.dims();
        let with_weight = |w: Tensor<4>| {
            let conv = Conv2d {
                weight: Param::from_tensor(w),
                ..conv.clone()
            };
            conv2d(input.clone(), &conv)
        };
        finite_difference_check(
            &with_weight,
            weight,
            weight_shape,
            &format!("{what}, weight"),
        );
    }
}

#[test]
fn relu6_matches_the_clamp_and_finite_differences() {
    let device = Device::flex().autodiff();
    // Away from the corners 0 and 6, where the derivative jumps.
    let x: Vec<f32> = (0..2 * 3 * 4 * 5)
        .map(|i| -3.1 + i as f32 * 0.0763)
        .filter(|v| (v.abs() > 0.05) && ((v - 6.0).abs() > 0.05))
        .take(96)
        .collect();
    let shape = [2, 3, 4, 4];
    let tensor = Tensor::<4>::from_data(TensorData::new(x.clone(), shape), &device);
    close(
        &values(relu6(tensor.clone())),
        &values(tensor.clamp(0.0, 6.0)),
        0.0 + f32::EPSILON,
        "relu6",
    );
    finite_difference_check(&|x| relu6(x), x, shape, "relu6");
    // On the plain device the same values, and the corners pass no gradient (as PyTorch).
    let corners = Tensor::<1>::from_floats([0.0, 6.0, 3.0, -1.0, 7.0], &device).require_grad();
    let grads = relu6(corners.clone()).sum().backward();
    assert_eq!(
        values1(corners.grad(&grads).expect("a gradient")),
        [0.0, 0.0, 1.0, 0.0, 0.0]
    );
}

fn values1(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// Two identical batch norms over `channels` with γ around 2 and β around 1 (so that ReLU6
/// clamps at both ends somewhere).
fn batch_norm_pair(channels: usize, device: &Device) -> (BatchNorm, BatchNorm) {
    let gamma = Tensor::<1>::random([channels], Distribution::Uniform(0.5, 3.5), device);
    let beta = Tensor::<1>::random([channels], Distribution::Uniform(-1.0, 3.0), device);
    let make = || {
        let mut bn = burn::nn::BatchNormConfig::new(channels)
            .with_epsilon(1e-3)
            .init(device);
        bn.gamma = Param::from_tensor(Tensor::from_data(gamma.to_data(), device).require_grad());
        bn.beta = Param::from_tensor(Tensor::from_data(beta.to_data(), device).require_grad());
        bn
    };
    (make(), make())
}

#[test]
fn fused_batch_norm_matches_burn_forward_backward_and_running_statistics() {
    let device = Device::flex().autodiff();
    let mut clamped = 0;
    for (shape, relu6_after) in [
        ([4, 3, 5, 6], true),
        ([2, 5, 3, 3], false),
        ([3, 2, 1, 1], true),
    ] {
        let (ours_bn, burns_bn) = batch_norm_pair(shape[1], &device);
        let x = (random(shape, &device) * 2.0 + 0.5).require_grad();
        let ours = batch_norm(&ours_bn, x.clone(), relu6_after);
        let burns = burns_bn.forward(x.clone());
        let burns = if relu6_after {
            burns.clamp(0.0, 6.0)
        } else {
            burns
        };
        let what = format!("{shape:?} relu6 {relu6_after}");
        close(&values(ours.clone()), &values(burns.clone()), 1e-5, &what);
        if relu6_after {
            clamped += values(ours.clone())
                .iter()
                .filter(|&&v| v == 0.0 || v == 6.0)
                .count();
        }
        let upstream = random(shape, &device);
        let ours_grads = (ours * upstream.clone()).sum().backward();
        let burns_grads = (burns * upstream).sum().backward();
        let pairs = [
            ("x", x.grad(&ours_grads), x.grad(&burns_grads)),
            (
                "γ",
                ours_bn
                    .gamma
                    .val()
                    .grad(&ours_grads)
                    .map(|g| g.reshape([1, 1, 1, shape[1]])),
                burns_bn
                    .gamma
                    .val()
                    .grad(&burns_grads)
                    .map(|g| g.reshape([1, 1, 1, shape[1]])),
            ),
            (
                "β",
                ours_bn
                    .beta
                    .val()
                    .grad(&ours_grads)
                    .map(|g| g.reshape([1, 1, 1, shape[1]])),
                burns_bn
                    .beta
                    .val()
                    .grad(&burns_grads)
                    .map(|g| g.reshape([1, 1, 1, shape[1]])),
            ),
        ];
        for (name, ours, burns) in pairs {
            let (ours, burns) = (ours.expect("our gradient"), burns.expect("Burn's gradient"));
            close(
                &values(ours),
                &values(burns),
                1e-4,
                &format!("{what}: d{name}"),
            );
        }
        for (ours, burns, name) in [
            (
                ours_bn.running_mean.value(),
                burns_bn.running_mean.value(),
                "running mean",
            ),
            (
                ours_bn.running_var.value(),
                burns_bn.running_var.value(),
                "running variance",
            ),
        ] {
            close(
                &values1(ours),
                &values1(burns),
                1e-6,
                &format!("{what}: {name}"),
            );
        }
    }
    assert!(clamped > 0, "the cases clamp somewhere");
}

/// Without the ReLU6 (whose kinks a finite step can cross); the fused ReLU6 gradient is checked
/// against Burn's clamp above, and the clamp's against finite differences.
#[test]
fn fused_batch_norm_gradients_match_finite_differences() {
    let device = Device::flex().autodiff();
    let shape = [3, 2, 4, 3];
    let (bn, _) = batch_norm_pair(shape[1], &device);
    let x = values(random(shape, &device));
    finite_difference_check(&|x| batch_norm(&bn, x, false), x, shape, "batch norm, x");
    // γ and β as the input: the same check on a [1, 1, 1, channels] view of them.
    let input = random(shape, &device);
    for which in ["γ", "β"] {
        let start = values1(if which == "γ" {
            bn.gamma.val()
        } else {
            bn.beta.val()
        });
        let with = |p: Tensor<4>| {
            // A view of the checked leaf: a parameter that is not a leaf of its own.
            let p = Param::initialized(burn::module::ParamId::new(), p.reshape([shape[1]]));
            let bn = if which == "γ" {
                BatchNorm {
                    gamma: p,
                    ..bn.clone()
                }
            } else {
                BatchNorm {
                    beta: p,
                    ..bn.clone()
                }
            };
            batch_norm(&bn, input.clone(), false)
        };
        finite_difference_check(
            &with,
            start,
            [1, 1, 1, shape[1]],
            &format!("batch norm, {which}"),
        );
    }
}

#[test]
fn gelu_matches_burn_forward_backward_and_finite_differences() {
    let device = Device::flex().autodiff();
    let shape = [2, 3, 40, 50];
    let x = (random(shape, &device) * 2.0).require_grad();
    let ours = gelu(x.clone());
    let burns = burn::tensor::activation::gelu(x.clone());
    close(&values(ours.clone()), &values(burns.clone()), 1e-6, "gelu");
    let upstream = random(shape, &device);
    let ours_grads = (ours * upstream.clone()).sum().backward();
    let burns_grads = (burns * upstream).sum().backward();
    close(
        &values(x.grad(&ours_grads).expect("our gradient")),
        &values(x.grad(&burns_grads).expect("Burn's gradient")),
        1e-5,
        "gelu, dx",
    );
    let small = [2, 3, 4, 4];
    finite_difference_check(&|x| gelu(x), values(random(small, &device)), small, "gelu");
}
