//! AdamW as Burn's `SimpleOptimizer`, each parameter's step one [`AdapterOps::adamw_step`]
//! (one pass over memory on the CPU, where Burn's AdamW makes a dozen). Same update as Burn's
//! `AdamW` and PyTorch's `torch.optim.AdamW` (decoupled weight decay, bias-corrected moments,
//! ε outside the square root); stages/tests/train_ops.rs compares it with Burn's step by step.
//! Wrapped in Burn's `OptimizerAdaptor`, so its state goes into checkpoints as Burn records.

use burn::module::AutodiffModule;
use burn::optim::SimpleOptimizer;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::record::Record;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorPrimitive};

use crate::train::ops::{AdamWStep, AdapterOps};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamW {
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    pub weight_decay: f64,
}

impl AdamW {
    /// PyTorch's betas (0.9, 0.999) and ε 1e-8, with `weight_decay`.
    pub fn new(weight_decay: f64) -> Self {
        AdamW {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-8,
            weight_decay,
        }
    }

    /// As a Burn optimizer of the module `M`.
    pub fn init<B: AutodiffBackend, M: AutodiffModule<B>>(self) -> OptimizerAdaptor<Self, M, B>
    where
        B::InnerBackend: AdapterOps,
    {
        OptimizerAdaptor::from(self)
    }
}

/// One parameter's moments and step count.
#[derive(Record, Clone)]
pub struct AdamWState<B: Backend, const D: usize> {
    pub moment_1: Tensor<B, D>,
    pub moment_2: Tensor<B, D>,
    pub time: usize,
}

fn primitive<B: Backend, const D: usize>(t: Tensor<B, D>) -> burn::tensor::ops::FloatTensor<B> {
    t.into_primitive().tensor()
}

fn tensor<B: Backend, const D: usize>(p: burn::tensor::ops::FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

impl<B: AdapterOps> SimpleOptimizer<B> for AdamW {
    type State<const D: usize> = AdamWState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor_in: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let state = state.unwrap_or_else(|| AdamWState {
            moment_1: grad.zeros_like(),
            moment_2: grad.zeros_like(),
            time: 0,
        });
        let time = state.time + 1;
        let step = AdamWStep {
            lr,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
            time: i32::try_from(time).unwrap_or(i32::MAX),
        };
        let [p, m, v] = B::adamw_step(
            primitive(tensor_in),
            primitive(grad),
            primitive(state.moment_1),
            primitive(state.moment_2),
            &step,
        );
        (
            tensor(p),
            Some(AdamWState {
                moment_1: tensor(m),
                moment_2: tensor(v),
                time,
            }),
        )
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        AdamWState {
            moment_1: state.moment_1.to_device(device),
            moment_2: state.moment_2.to_device(device),
            time: state.time,
        }
    }
}
