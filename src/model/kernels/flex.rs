//! [`TrainingKernels`] on flex, Burn's CPU backend: mclcr's kernels ([`super::depthwise`],
//! [`super::batch_norm`], [`super::gelu`], [`super::relu6`]) on f32 tensors, Burn's own operations
//! for any other type.

use std::borrow::Cow;

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ConvOptions, FloatTensorOps, ModuleOps};
use burn::tensor::{DType, TensorData};

use super::depthwise::{self, DepthwiseGeometry};
use super::{
    TrainingKernels, batch_norm, batch_norm_act_backward_by_burn, batch_norm_act_by_burn,
    depthwise_geometry, gelu, relu6, relu6_backward_by_relu,
};

impl TrainingKernels for Flex {
    fn depthwise_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        let Some(geometry) = geometry(&x, &weight, &options) else {
            return Flex::conv2d(x, weight, None, options);
        };
        let [out_h, out_w] = geometry.output();
        let y = depthwise::forward(&f32s(&x), &f32s(&weight), None, &geometry);
        flex([geometry.batch, geometry.channels, out_h, out_w], y)
    }

    fn depthwise_conv2d_x_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(geometry) = geometry(&x, &weight, &options) else {
            return Flex::conv2d_x_backward(x, weight, grad, options);
        };
        let dx = depthwise::input_grad(&f32s(&grad), &f32s(&weight), &geometry);
        flex(
            [
                geometry.batch,
                geometry.channels,
                geometry.input[0],
                geometry.input[1],
            ],
            dx,
        )
    }

    fn depthwise_conv2d_weight_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(geometry) = geometry(&x, &weight, &options) else {
            return Flex::conv2d_weight_backward(x, weight, grad, options);
        };
        let dw = depthwise::weight_grad(&f32s(&x), &f32s(&grad), &geometry);
        flex(
            [geometry.channels, 1, geometry.kernel[0], geometry.kernel[1]],
            dw,
        )
    }

    fn relu6(x: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return Flex::float_clamp(x, 0.0.into(), 6.0.into());
        }
        let mut data = x.into_data();
        match data.as_mut_slice::<f32>() {
            Ok(values) => relu6::relu6_in_place(values),
            // Not reachable for an f32 tensor.
            Err(_) => {
                return Flex::float_clamp(FlexTensor::from_data(data), 0.0.into(), 6.0.into());
            }
        }
        FlexTensor::from_data(data)
    }

    fn batch_norm_act(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        relu6: bool,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let Some(shape) = norm_shape(&[&x, &gamma, &beta]) else {
            return batch_norm_act_by_burn::<Flex>(x, gamma, beta, epsilon, relu6);
        };
        let values = f32s(&x);
        let (mean, variance) = batch_norm::statistics(&values, shape);
        let norm = batch_norm::Norm {
            gamma: &f32s(&gamma),
            beta: &f32s(&beta),
            mean: &mean,
            variance: &variance,
            epsilon,
            relu6,
        };
        let y = batch_norm::forward(&values, shape, &norm);
        let dims = x.layout().shape().clone();
        (
            FlexTensor::from_data(TensorData::new(y, dims)),
            flex_vector(mean),
            flex_vector(variance),
        )
    }

    fn batch_norm_act_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        relu6: bool,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let Some(shape) = norm_shape(&[&x, &gamma, &beta, &mean, &variance, &grad]) else {
            let stats = (mean, variance, epsilon);
            return batch_norm_act_backward_by_burn::<Flex>(x, gamma, beta, stats, relu6, grad);
        };
        let norm = batch_norm::Norm {
            gamma: &f32s(&gamma),
            beta: &f32s(&beta),
            mean: &f32s(&mean),
            variance: &f32s(&variance),
            epsilon,
            relu6,
        };
        let mut data = grad.into_data();
        let Ok(dx) = data.as_mut_slice::<f32>() else {
            // Not reachable for an f32 tensor.
            let (grad, stats) = (FlexTensor::from_data(data), (mean, variance, epsilon));
            return batch_norm_act_backward_by_burn::<Flex>(x, gamma, beta, stats, relu6, grad);
        };
        let (dgamma, dbeta) = batch_norm::backward(&f32s(&x), shape, &norm, dx);
        (
            FlexTensor::from_data(data),
            flex_vector(dgamma),
            flex_vector(dbeta),
        )
    }

    fn gelu_exact(x: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 {
            return <Flex as burn::backend::ops::ActivationOps<Flex>>::gelu(x);
        }
        let mut data = x.into_data();
        if let Ok(values) = data.as_mut_slice::<f32>() {
            gelu::gelu_in_place(values);
        }
        FlexTensor::from_data(data)
    }

    fn gelu_exact_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 || grad.dtype() != DType::F32 {
            return <Flex as burn::backend::ops::ActivationOps<Flex>>::gelu_backward(x, grad);
        }
        let x = f32s(&x);
        let mut data = grad.into_data();
        if let Ok(grad) = data.as_mut_slice::<f32>() {
            gelu::gelu_backward_in_place(&x, grad);
        }
        FlexTensor::from_data(data)
    }

    fn relu6_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        if x.dtype() != DType::F32 || grad.dtype() != DType::F32 {
            return relu6_backward_by_relu::<Flex>(x, grad);
        }
        let x = f32s(&x);
        let mut data = grad.into_data();
        if let Ok(grad) = data.as_mut_slice::<f32>() {
            relu6::relu6_backward_in_place(&x, grad);
        }
        FlexTensor::from_data(data)
    }
}

/// [`depthwise_geometry`] of two f32 flex tensors (mclcr's kernels take f32 only).
fn geometry(
    x: &FlexTensor,
    weight: &FlexTensor,
    options: &ConvOptions<2>,
) -> Option<DepthwiseGeometry> {
    if x.dtype() != DType::F32 || weight.dtype() != DType::F32 {
        return None;
    }
    depthwise_geometry(
        x.layout().shape().dims::<4>(),
        weight.layout().shape().dims::<4>(),
        options,
    )
}

/// The values of an f32 tensor in row-major order (borrowed when already laid out so).
fn f32s(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(values) => Cow::Borrowed(values),
        None => Cow::Owned(
            t.to_contiguous()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap_or_default(),
        ),
    }
}

/// The batch-norm shape of `tensors[0]` when all `tensors` are f32 (mclcr's kernels take f32
/// only) and it has rank 2 or more.
fn norm_shape(tensors: &[&FlexTensor]) -> Option<batch_norm::NormShape> {
    if tensors.iter().any(|t| t.dtype() != DType::F32) {
        return None;
    }
    let shape = tensors.first()?.layout().shape();
    let dims: Vec<usize> = (0..shape.num_dims()).map(|i| shape[i]).collect();
    batch_norm::NormShape::of(&dims)
}

/// A one-dimensional flex tensor holding `values`.
fn flex_vector(values: Vec<f32>) -> FlexTensor {
    let len = values.len();
    FlexTensor::from_data(TensorData::new(values, [len]))
}

/// A flex tensor of `shape` holding `values`.
fn flex(shape: [usize; 4], values: Vec<f32>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
