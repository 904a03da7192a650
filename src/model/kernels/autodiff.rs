//! [`TrainingKernels`] under autodiff: each operation is one graph node whose backward pass
//! calls the inner backend's gradient kernels (as Burn's own `conv2d` node does).

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend};

use super::TrainingKernels;

impl<B: TrainingKernels, C: CheckpointStrategy> TrainingKernels for Autodiff<B, C> {
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct DepthwiseConv2d;

        impl<B: TrainingKernels> Backward<B, 2> for DepthwiseConv2d {
            type State = (NodeId, NodeId, ConvOptions<2>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, weight_state, options) = ops.state;
                let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
                let weight =
                    checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
                if let Some(node) = node_x {
                    let dx = B::depthwise_conv2d_x_backward(
                        x.clone(),
                        weight.clone(),
                        grad.clone(),
                        options.clone(),
                    );
                    grads.register::<B>(node.id, dx);
                }
                if let Some(node) = node_weight {
                    let dw = B::depthwise_conv2d_weight_backward(x, weight, grad, options);
                    grads.register::<B>(node.id, dw);
                }
            }
        }

        match DepthwiseConv2d
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                prep.finish(
                    (x_state, weight_state, options.clone()),
                    B::depthwise_conv2d(x.primitive().clone(), weight.primitive().clone(), options),
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(B::depthwise_conv2d(
                x.primitive().clone(),
                weight.primitive().clone(),
                options,
            )),
        }
    }

    fn relu6(x: FloatTensor<Self>) -> FloatTensor<Self> {
        elementwise::<B, C>(x, B::relu6, B::relu6_backward)
    }

    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self> {
        elementwise::<B, C>(x, B::gelu_exact, B::gelu_exact_backward)
    }

    fn batch_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        relu6: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct BatchNormAct;

        /// The checkpointed x, gamma and beta, the batch statistics as the forward pass
        /// computed them, epsilon and the ReLU6 flag.
        type State<P> = (NodeId, NodeId, NodeId, P, P, f64, bool);

        impl<B: TrainingKernels> Backward<B, 3> for BatchNormAct {
            type State = State<B::FloatTensorPrimitive>;

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, gamma, beta, mean, variance, epsilon, relu6) = ops.state;
                let mut retrieve =
                    |id| checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(id);
                let (x, gamma, beta) = (retrieve(x), retrieve(gamma), retrieve(beta));
                let (dx, dgamma, dbeta) = B::batch_norm_act_backward(
                    x, gamma, beta, mean, variance, epsilon, relu6, grad,
                );
                for (node, grad) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, grad);
                    }
                }
            }
        }

        let forward = || {
            B::batch_norm_act(
                x.primitive().clone(),
                gamma.primitive().clone(),
                beta.primitive().clone(),
                epsilon,
                relu6,
            )
        };
        match BatchNormAct
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let checkpoints = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&gamma),
                    prep.checkpoint(&beta),
                );
                let (y, mean, variance) = forward();
                let state = (
                    checkpoints.0,
                    checkpoints.1,
                    checkpoints.2,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                    relu6,
                );
                (
                    prep.finish(state, y),
                    Self::from_inner(mean),
                    Self::from_inner(variance),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (y, mean, variance) = forward();
                (
                    prep.finish(y),
                    Self::from_inner(mean),
                    Self::from_inner(variance),
                )
            }
        }
    }
}

/// A kernel on the inner backend's tensors.
type Kernel<B> = fn(FloatTensor<B>) -> FloatTensor<B>;

/// The gradient of an element-wise kernel from its input and the output's gradient.
type GradientKernel<B> = fn(FloatTensor<B>, FloatTensor<B>) -> FloatTensor<B>;

/// The graph node of an element-wise kernel (ReLU6, GELU): its backward pass calls `gradient`
/// on the checkpointed input.
struct Elementwise<B: TrainingKernels> {
    gradient: GradientKernel<B>,
}

impl<B: TrainingKernels> std::fmt::Debug for Elementwise<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Elementwise")
    }
}

impl<B: TrainingKernels> Backward<B, 1> for Elementwise<B> {
    type State = NodeId;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(ops.state);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, (self.gradient)(x, grad));
        }
    }
}

/// `forward(x)` recorded as one [`Elementwise`] node whose backward pass is `gradient`.
fn elementwise<B: TrainingKernels, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    forward: Kernel<B>,
    gradient: GradientKernel<B>,
) -> FloatTensor<Autodiff<B, C>> {
    match (Elementwise { gradient })
        .prepare::<C>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let state = prep.checkpoint(&x);
            prep.finish(state, forward(x.primitive().clone()))
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.primitive().clone())),
    }
}
