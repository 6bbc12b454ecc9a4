//! [`AdapterOps`] on Burn's autodiff backend: the forward of the inner backend, recorded with
//! a backward pass made of the inner backend's [`AdapterOps`] gradients (the pattern of Burn's
//! own `linear` and `gelu` in burn-autodiff).

use burn::backend::Autodiff;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::tensor::Shape;
use burn::tensor::ops::{FloatTensor, ModuleOps};

use super::AdapterOps;

impl<B: AdapterOps, C: CheckpointStrategy> AdapterOps for Autodiff<B, C> {
    fn adapter_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        // Without a bias (our adapters always have one) Burn's own op is the same computation.
        let Some(bias) = bias else {
            return Self::linear(x, weight, None);
        };

        #[derive(Debug)]
        struct LinearBackward;

        impl<B: AdapterOps> Backward<B, 3> for LinearBackward {
            /// The checkpointed x (needed for the weight's gradient) and weight (for x's).
            type State = (Option<NodeId>, Option<NodeId>);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, weight_state) = ops.state;
                if let (Some(node), Some(id)) = (node_x, weight_state) {
                    let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(id);
                    let g = B::adapter_linear_x_backward(weight, grad.clone());
                    grads.register::<B>(node.id, g);
                }
                if let (Some(node), Some(id)) = (node_weight, x_state) {
                    let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(id);
                    let g = B::adapter_linear_weight_backward(x, grad.clone());
                    grads.register::<B>(node.id, g);
                }
                if let Some(node) = node_bias {
                    grads.register::<B>(node.id, B::adapter_linear_bias_backward(grad));
                }
            }
        }

        let x_tracked = x.is_tracked();
        let weight_tracked = weight.is_tracked();
        match LinearBackward
            .prepare::<C>([x.node.clone(), weight.node.clone(), bias.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                // x is only needed for the weight's gradient, and the weight only for x's.
                let x_state = weight_tracked.then(|| prep.checkpoint(&x));
                let weight_state = x_tracked.then(|| prep.checkpoint(&weight));
                prep.finish(
                    (x_state, weight_state),
                    B::adapter_linear(x.primitive, weight.primitive, Some(bias.primitive)),
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(B::adapter_linear(
                x.primitive,
                weight.primitive,
                Some(bias.primitive),
            )),
        }
    }

    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct GeluBackward;

        impl<B: AdapterOps> Backward<B, 1> for GeluBackward {
            /// The checkpointed input.
            type State = NodeId;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let input = checkpointer.retrieve_node_output::<FloatTensor<B>>(ops.state);
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::gelu_exact_backward(input, grad)
                });
            }
        }

        match GeluBackward
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, B::gelu_exact(x.primitive))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gelu_exact(x.primitive)),
        }
    }

    fn adapter_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LayerNormBackward;

        impl<B: AdapterOps> Backward<B, 3> for LayerNormBackward {
            /// The checkpointed x and γ, and ε.
            type State = (NodeId, NodeId, f64);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, gamma, epsilon) = ops.state;
                let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x);
                let gamma = checkpointer.retrieve_node_output::<FloatTensor<B>>(gamma);
                let [dx, d_gamma, d_beta] = B::adapter_layer_norm_backward(x, gamma, grad, epsilon);
                for (node, g) in [(node_x, dx), (node_gamma, d_gamma), (node_beta, d_beta)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, g);
                    }
                }
            }
        }

        match LayerNormBackward
            .prepare::<C>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&gamma), epsilon);
                prep.finish(
                    state,
                    B::adapter_layer_norm(x.primitive, gamma.primitive, beta.primitive, epsilon),
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(B::adapter_layer_norm(
                x.primitive,
                gamma.primitive,
                beta.primitive,
                epsilon,
            )),
        }
    }

    fn contrastive_loss(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        temperature: f64,
        alpha: f64,
    ) -> FloatTensor<Self> {
        scalar_loss::<B, C>(
            a,
            b,
            |a, b| B::contrastive_loss_and_grads(a, b, temperature, alpha),
            |a, b| B::contrastive_loss(a, b, temperature, alpha),
        )
    }

    fn variance_matching_loss(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        reference: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // The reference features are a constant: its inner tensor is all the op needs.
        let reference = reference.primitive;
        let r = reference.clone();
        scalar_loss::<B, C>(
            a,
            b,
            move |a, b| B::variance_matching_loss_and_grads(a, b, r),
            move |a, b| B::variance_matching_loss(a, b, reference),
        )
    }
}

/// A loss term of two tensors as one autodiff op: when either is tracked, `with_grads` gives the
/// value and both gradients at once and the backward pass scales the kept gradients by the
/// incoming one (a one-element tensor); otherwise `value` alone.
fn scalar_loss<B: AdapterOps, C: CheckpointStrategy>(
    a: FloatTensor<Autodiff<B, C>>,
    b: FloatTensor<Autodiff<B, C>>,
    with_grads: impl FnOnce(FloatTensor<B>, FloatTensor<B>) -> [FloatTensor<B>; 3],
    value: impl FnOnce(FloatTensor<B>, FloatTensor<B>) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>> {
    #[derive(Debug)]
    struct ScalarLossBackward;

    impl<B: AdapterOps> Backward<B, 2> for ScalarLossBackward {
        /// ∂L/∂a and ∂L/∂b.
        type State = [FloatTensor<B>; 2];

        fn backward(
            self,
            ops: Ops<Self::State, 2>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let upstream = grads.consume::<B>(&ops.node);
            let upstream = B::float_reshape(upstream, Shape::new([1, 1]));
            for (node, g) in ops.parents.into_iter().zip(ops.state) {
                if let Some(node) = node {
                    grads.register::<B>(node.id, B::float_mul(g, upstream.clone()));
                }
            }
        }
    }

    match ScalarLossBackward
        .prepare::<C>([a.node.clone(), b.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let [loss, g_a, g_b] = with_grads(a.primitive, b.primitive);
            prep.finish([g_a, g_b], loss)
        }
        OpsKind::UnTracked(prep) => prep.finish(value(a.primitive, b.primitive)),
    }
}
