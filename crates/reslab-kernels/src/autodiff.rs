//! The ops under `Autodiff`: each forward op of `ResLabOps` records a
//! backward step that calls the gradient ops of the same trait, so a
//! training step runs ResLab's kernels both ways. Built as Burn's own
//! `Autodiff` ops are (`burn-autodiff`, `ops/module.rs`), which these mirror.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::ops::ConvOptions;
use burn::backend::{Autodiff, tensor::FloatTensor};

use crate::ResLabOps;

type Prim<B> = <B as burn::backend::BackendTypes>::FloatTensorPrimitive;

#[derive(Debug)]
struct Conv2dBackward;

impl<B: ResLabOps> Backward<B, 2> for Conv2dBackward {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<Prim<B>>(x_state);
        let weight = checkpointer.retrieve_node_output::<Prim<B>>(weight_state);
        if let Some(node) = node_x {
            let dx = B::reslab_conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_weight {
            grads.register::<B>(node.id, B::reslab_conv2d_weight_backward(x, weight, grad, options));
        }
    }
}

#[derive(Debug)]
struct Conv2dBiasBackward;

impl<B: ResLabOps> Backward<B, 3> for Conv2dBiasBackward {
    type State = (NodeId, NodeId, NodeId, ConvOptions<2>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, bias_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<Prim<B>>(x_state);
        let weight = checkpointer.retrieve_node_output::<Prim<B>>(weight_state);
        let bias = checkpointer.retrieve_node_output::<Prim<B>>(bias_state);
        if let Some(node) = node_x {
            let dx = B::reslab_conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_weight {
            let dw = B::reslab_conv2d_weight_backward(x.clone(), weight, grad.clone(), options);
            grads.register::<B>(node.id, dw);
        }
        if let Some(node) = node_bias {
            grads.register::<B>(node.id, B::reslab_conv2d_bias_backward(x, bias, grad));
        }
    }
}

#[derive(Debug)]
struct BatchNormBackward;

impl<B: ResLabOps> Backward<B, 3> for BatchNormBackward {
    // x and gamma checkpointed; the batch statistics as the forward pass computed them.
    type State = (NodeId, NodeId, Prim<B>, Prim<B>, f64);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, gamma_state, mean, variance, epsilon) = ops.state;
        let x = checkpointer.retrieve_node_output::<Prim<B>>(x_state);
        let gamma = checkpointer.retrieve_node_output::<Prim<B>>(gamma_state);
        let (dx, dgamma, dbeta) = B::reslab_batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
        for (node, g) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
            if let Some(node) = node {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

#[derive(Debug)]
struct ReluBackward;

impl<B: ResLabOps> Backward<B, 1> for ReluBackward {
    // The input, as Burn's own ReLU keeps it: it is positive exactly where
    // the output is, which is all `reslab_relu_backward` looks at.
    type State = NodeId;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let x = checkpointer.retrieve_node_output::<Prim<B>>(ops.state);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::reslab_relu_backward(x, grad));
        }
    }
}

#[derive(Debug)]
struct MatmulBackward;

impl<B: ResLabOps> Backward<B, 2> for MatmulBackward {
    type State = (NodeId, NodeId);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let [node_lhs, node_rhs] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let lhs = checkpointer.retrieve_node_output::<Prim<B>>(ops.state.0);
        let rhs = checkpointer.retrieve_node_output::<Prim<B>>(ops.state.1);
        // 2-D only (the tensor-level `matmul` takes `Tensor<2>`): ∂lhs = g rhsᵀ, ∂rhs = lhsᵀ g.
        if let Some(node) = node_lhs {
            grads.register::<B>(node.id, B::reslab_matmul(grad.clone(), B::float_transpose(rhs)));
        }
        if let Some(node) = node_rhs {
            grads.register::<B>(node.id, B::reslab_matmul(B::float_transpose(lhs), grad));
        }
    }
}

/// A float tensor under autodiff (Burn's `AutodiffTensor<B>`).
type AutodiffTensor<B, C> = FloatTensor<Autodiff<B, C>>;

/// A result autodiff does not track (the batch statistics, an evaluation
/// output). The tensor type does not depend on the checkpointing strategy.
fn untracked<B: ResLabOps>(t: Prim<B>) -> FloatTensor<Autodiff<B>> {
    FloatTensor::<Autodiff<B>>::new(t)
}

impl<B: ResLabOps, C: CheckpointStrategy> ResLabOps for Autodiff<B, C> {
    fn reslab_conv2d(x: AutodiffTensor<B, C>, weight: AutodiffTensor<B, C>, options: ConvOptions<2>) -> AutodiffTensor<B, C> {
        match Conv2dBackward.prepare::<C>([x.node(), weight.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let (xs, ws) = (prep.checkpoint(&x), prep.checkpoint(&weight));
                let y = B::reslab_conv2d(x.into_primitive(), weight.into_primitive(), options.clone());
                prep.finish((xs, ws, options), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::reslab_conv2d(x.into_primitive(), weight.into_primitive(), options)),
        }
    }

    fn reslab_conv2d_bias(
        x: AutodiffTensor<B, C>,
        weight: AutodiffTensor<B, C>,
        bias: AutodiffTensor<B, C>,
        options: ConvOptions<2>,
    ) -> AutodiffTensor<B, C> {
        match Conv2dBiasBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let (xs, ws, bs) = (prep.checkpoint(&x), prep.checkpoint(&weight), prep.checkpoint(&bias));
                let y = B::reslab_conv2d_bias(x.into_primitive(), weight.into_primitive(), bias.into_primitive(), options.clone());
                prep.finish((xs, ws, bs, options), y)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::reslab_conv2d_bias(x.into_primitive(), weight.into_primitive(), bias.into_primitive(), options))
            }
        }
    }

    fn reslab_batch_norm_train(
        x: AutodiffTensor<B, C>,
        gamma: AutodiffTensor<B, C>,
        beta: AutodiffTensor<B, C>,
        epsilon: f64,
    ) -> (AutodiffTensor<B, C>, AutodiffTensor<B, C>, AutodiffTensor<B, C>) {
        match BatchNormBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let (xs, gs) = (prep.checkpoint(&x), prep.checkpoint(&gamma));
                let (y, mean, var) =
                    B::reslab_batch_norm_train(x.into_primitive(), gamma.into_primitive(), beta.into_primitive(), epsilon);
                let y = prep.finish((xs, gs, mean.clone(), var.clone(), epsilon), y);
                (y, untracked(mean), untracked(var))
            }
            OpsKind::UnTracked(prep) => {
                let (y, mean, var) =
                    B::reslab_batch_norm_train(x.into_primitive(), gamma.into_primitive(), beta.into_primitive(), epsilon);
                (prep.finish(y), untracked(mean), untracked(var))
            }
        }
    }

    fn reslab_batch_norm(
        x: AutodiffTensor<B, C>,
        gamma: AutodiffTensor<B, C>,
        beta: AutodiffTensor<B, C>,
        mean: AutodiffTensor<B, C>,
        variance: AutodiffTensor<B, C>,
        epsilon: f64,
    ) -> AutodiffTensor<B, C> {
        // Evaluation only (the model calls it outside training): no gradient.
        let y = B::reslab_batch_norm(
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
            mean.into_primitive(),
            variance.into_primitive(),
            epsilon,
        );
        untracked(y)
    }

    fn reslab_relu(x: AutodiffTensor<B, C>) -> AutodiffTensor<B, C> {
        match ReluBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, B::reslab_relu(x.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::reslab_relu(x.into_primitive())),
        }
    }

    fn reslab_matmul(lhs: AutodiffTensor<B, C>, rhs: AutodiffTensor<B, C>) -> AutodiffTensor<B, C> {
        match MatmulBackward.prepare::<C>([lhs.node(), rhs.node()]).compute_bound().stateful() {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&lhs), prep.checkpoint(&rhs));
                prep.finish(state, B::reslab_matmul(lhs.into_primitive(), rhs.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::reslab_matmul(lhs.into_primitive(), rhs.into_primitive())),
        }
    }

    fn reslab_conv2d_x_backward(
        _x: AutodiffTensor<B, C>,
        _weight: AutodiffTensor<B, C>,
        _output_grad: AutodiffTensor<B, C>,
        _options: ConvOptions<2>,
    ) -> AutodiffTensor<B, C> {
        panic!("ResLab's convolution gradients are not differentiated again")
    }

    fn reslab_conv2d_weight_backward(
        _x: AutodiffTensor<B, C>,
        _weight: AutodiffTensor<B, C>,
        _output_grad: AutodiffTensor<B, C>,
        _options: ConvOptions<2>,
    ) -> AutodiffTensor<B, C> {
        panic!("ResLab's convolution gradients are not differentiated again")
    }

    fn reslab_conv2d_bias_backward(
        _x: AutodiffTensor<B, C>,
        _bias: AutodiffTensor<B, C>,
        _output_grad: AutodiffTensor<B, C>,
    ) -> AutodiffTensor<B, C> {
        panic!("ResLab's convolution gradients are not differentiated again")
    }

    fn reslab_batch_norm_train_backward(
        _x: AutodiffTensor<B, C>,
        _gamma: AutodiffTensor<B, C>,
        _mean: AutodiffTensor<B, C>,
        _variance: AutodiffTensor<B, C>,
        _epsilon: f64,
        _output_grad: AutodiffTensor<B, C>,
    ) -> (AutodiffTensor<B, C>, AutodiffTensor<B, C>, AutodiffTensor<B, C>) {
        panic!("ResLab's batch norm gradient is not differentiated again")
    }

    fn reslab_relu_backward(_output: AutodiffTensor<B, C>, _grad: AutodiffTensor<B, C>) -> AutodiffTensor<B, C> {
        panic!("ResLab's ReLU gradient is not differentiated again")
    }
}
