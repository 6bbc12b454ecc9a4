//! [`AdapterOps`] on Burn's autodiff backend: the forward of the inner backend, recorded with
//! a backward pass made of the inner backend's [`AdapterOps`] gradients (the pattern of Burn's
//! own `linear` and `gelu` in burn-autodiff).

use burn::backend::Autodiff;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
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
}
