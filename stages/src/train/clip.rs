//! Global-norm gradient clipping over every parameter of both adapters, as PyTorch's
//! `clip_grad_norm_(params, max_norm)`: total = √(Σ‖g‖²); if total > max_norm, every gradient is
//! scaled by max_norm / (total + 1e-6). (Burn's own clipping is per parameter tensor.)

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor, TensorPrimitive};

use crate::train::ops::AdapterOps;

struct SumSquares<'a> {
    grads: &'a GradientsParams,
    total: f64,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SumSquares<'_>
where
    B::InnerBackend: AdapterOps,
{
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let sum = B::InnerBackend::sum_of_squares(g.into_primitive().tensor());
            let sum = Tensor::<B::InnerBackend, 1>::from_primitive(TensorPrimitive::Float(sum));
            self.total += sum.into_scalar().elem::<f64>();
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            self.grads
                .register::<B::InnerBackend, D>(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// The global gradient norm before clipping.
pub fn global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &GradientsParams,
) -> f64
where
    B::InnerBackend: AdapterOps,
{
    let mut v = SumSquares { grads, total: 0.0 };
    module.visit(&mut v);
    v.total.sqrt()
}

/// Clips in place; returns the norm before clipping.
pub fn clip_global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
) -> f64
where
    B::InnerBackend: AdapterOps,
{
    let total = global_norm::<B, M>(module, grads);
    if max_norm > 0.0 && total > max_norm {
        let mut s = Scale {
            grads,
            factor: max_norm / (total + 1e-6),
        };
        module.visit(&mut s);
    }
    total
}
