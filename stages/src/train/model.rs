//! The adapters, as Burn modules generic over the backend. Their parameters are Burn's
//! [`Linear`] and [`LayerNorm`] modules (init, records); Linear, GELU, LayerNorm and dropout
//! run through [`crate::train::ops`] (exact GELU gradient, CPU kernels, hashed masks).

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig, Relu};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use crate::train::config::{Activation, AdapterKind, TrainConfig};
use crate::train::ops::{self, AdapterOps};

#[derive(Module, Debug)]
pub struct HiddenBlock<B: Backend> {
    linear: Linear<B>,
    norm: Option<LayerNorm<B>>,
    /// Dropout probability (a constant, not a parameter).
    dropout: f64,
    relu: Relu,
    use_gelu: bool,
}

impl<B: AdapterOps> HiddenBlock<B> {
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let x = ops::linear(&self.linear, x);
        let x = if self.use_gelu {
            ops::gelu(x)
        } else {
            self.relu.forward(x)
        };
        let x = match &self.norm {
            Some(n) => ops::layer_norm(n, x),
            None => x,
        };
        ops::dropout::dropout(x, self.dropout)
    }
}

fn layer_norm<B: Backend>(width: usize, device: &B::Device) -> LayerNorm<B> {
    LayerNormConfig::new(width)
        .with_epsilon(ops::LAYER_NORM_EPSILON)
        .init(device)
}

/// One modality's adapter: `linear` = Linear → LayerNorm; `mlp` = hidden blocks, then
/// Linear → LayerNorm (if `layer_norm`).
#[derive(Module, Debug)]
pub struct Adapter<B: Backend> {
    hidden: Vec<HiddenBlock<B>>,
    out: Linear<B>,
    out_norm: Option<LayerNorm<B>>,
}

impl<B: Backend> Adapter<B> {
    pub fn new(config: &TrainConfig, d_in: usize, d_out: usize, device: &B::Device) -> Self {
        let mut hidden = Vec::new();
        let mut width = d_in;
        let (hidden_dims, norm): (&[usize], bool) = match config.adapter {
            AdapterKind::Linear => (&[], true),
            AdapterKind::Mlp => (&config.mlp_hidden_dims, config.layer_norm),
        };
        for &h in hidden_dims {
            hidden.push(HiddenBlock {
                linear: LinearConfig::new(width, h).init(device),
                norm: norm.then(|| layer_norm(h, device)),
                dropout: config.dropout,
                relu: Relu::new(),
                use_gelu: config.activation == Activation::Gelu,
            });
            width = h;
        }
        Adapter {
            hidden,
            out: LinearConfig::new(width, d_out).init(device),
            out_norm: norm.then(|| layer_norm(d_out, device)),
        }
    }
}

impl<B: AdapterOps> Adapter<B> {
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let mut x = x;
        for block in &self.hidden {
            x = block.forward(x);
        }
        let x = ops::linear(&self.out, x);
        match &self.out_norm {
            Some(n) => ops::layer_norm(n, x),
            None => x,
        }
    }
}

/// Both adapters, trained together.
#[derive(Module, Debug)]
pub struct AlignModel<B: Backend> {
    pub image: Adapter<B>,
    pub text: Adapter<B>,
}

impl<B: Backend> AlignModel<B> {
    pub fn new(
        config: &TrainConfig,
        d_image: usize,
        d_text: usize,
        d_embed: usize,
        device: &B::Device,
    ) -> Self {
        let model = AlignModel {
            image: Adapter::new(config, d_image, d_embed, device),
            text: Adapter::new(config, d_text, d_embed, device),
        };
        model.map(&mut NumberedIds::default())
    }
}

/// Gives the parameters ids 0, 1, 2, … in module order. Burn draws each id at random, and the
/// ids are written into `model.mpk`: with random ids, two runs of the same key would write
/// different bytes. Initialises every parameter, in module order.
#[derive(Default)]
struct NumberedIds {
    next: u64,
}

impl<B: Backend> burn::module::ModuleMapper<B> for NumberedIds {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<burn::tensor::Tensor<B, D>>,
    ) -> burn::module::Param<burn::tensor::Tensor<B, D>> {
        let (_, value, mapper) = param.consume();
        let id = burn::module::ParamId::from(self.next);
        self.next += 1;
        burn::module::Param::from_mapped_value(id, value, mapper)
    }
}
