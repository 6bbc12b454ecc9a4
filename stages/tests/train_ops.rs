//! The adapters' own operations (stages::train::ops): the exact GELU and its derivative against
//! Python's math.erf (stages/tests/golden/make_gelu.py), in f64 and f32, through the CPU kernels,
//! through autodiff and through the primitive-op defaults other backends use; the CPU Linear
//! kernels against Burn's own linear ops, on strided inputs too; and the gradients of a whole MLP
//! adapter pair's loss against central finite differences, for every parameter and input entry.
//! (Burn 0.21's own GELU backward is the tanh approximation's: that last test fails with it.)

use std::path::Path;

use burn::backend::{Autodiff, NdArray};
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::ops::{FloatTensor, ModuleOps};
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use stages::train::config::{Activation, TrainConfig};
use stages::train::loss;
use stages::train::model::AlignModel;
use stages::train::ops::{self, AdapterOps};

use crate::common::{assert_close, widened};

type F64 = Autodiff<NdArray<f64>>;
type F32 = Autodiff<NdArray<f32>>;

fn golden() -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/gelu.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The golden points, GELU at them and its derivative.
fn gelu_golden() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let g = golden();
    (
        column(&g, "x"),
        column(&g, "gelu"),
        column(&g, "derivative"),
    )
}

fn column(g: &serde_json::Value, name: &str) -> Vec<f64> {
    g[name]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

type Cpu32 = NdArray<f32>;

/// A CPU f32 tensor's primitive.
fn prim<const D: usize>(t: Tensor<Cpu32, D>) -> FloatTensor<Cpu32> {
    t.into_primitive().tensor()
}

/// The values of a CPU f32 primitive of rank `D`, widened to f64.
fn values_of<const D: usize>(p: FloatTensor<Cpu32>) -> Vec<f64> {
    widened(Tensor::<Cpu32, D>::from_primitive(TensorPrimitive::Float(
        p,
    )))
}

fn f64_tensor<B: burn::tensor::backend::Backend, const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
) -> Tensor<B, D> {
    Tensor::from_data(
        TensorData::new(values, shape),
        (&Default::default(), DType::F64),
    )
}

#[test]
fn gelu_and_its_gradient_match_math_erf_in_f64() {
    let (xs, want, derivative) = gelu_golden();
    let n = xs.len();
    let x = f64_tensor::<F64, 1>(xs.clone(), [n]).require_grad();
    let y = ops::gelu(x.clone());
    let got: Vec<f64> = y.to_data().into_vec().unwrap();
    assert_close("gelu", &got, &want, 1e-14);
    let grads = y.sum().backward();
    let grad: Vec<f64> = x.grad(&grads).unwrap().into_data().into_vec().unwrap();
    assert_close("gelu'", &grad, &derivative, 1e-14);

    // The defaults from Burn's primitives, which backends without kernels (CUDA) use.
    type P = NdArray<f64>;
    let prim = |v: Vec<f64>| f64_tensor::<P, 1>(v, [n]).into_primitive().tensor();
    let back = ops::composite_gelu_backward::<P>(prim(xs.clone()), prim(vec![1.0; n]));
    let back: Vec<f64> = Tensor::<P, 1>::from_primitive(TensorPrimitive::Float(back))
        .into_data()
        .into_vec()
        .unwrap();
    assert_close("composite gelu'", &back, &derivative, 1e-13);
    let fwd = ops::composite_gelu::<P>(prim(xs));
    let fwd: Vec<f64> = Tensor::<P, 1>::from_primitive(TensorPrimitive::Float(fwd))
        .into_data()
        .into_vec()
        .unwrap();
    assert_close("composite gelu", &fwd, &want, 1e-13);
}

#[test]
fn gelu_and_its_gradient_match_math_erf_in_f32() {
    let (xs, want, derivative) = gelu_golden();
    let n = xs.len();
    // Large enough for the multi-threaded path: the golden points repeated.
    let reps = 5000;
    let values: Vec<f32> = (0..reps)
        .flat_map(|_| xs.iter().map(|&v| v as f32))
        .collect();
    let x = Tensor::<F32, 1>::from_data(TensorData::new(values, [n * reps]), &Default::default())
        .require_grad();
    let y = ops::gelu(x.clone());
    let got = widened(y.clone());
    let grads = y.sum().backward();
    let grad = widened(x.grad(&grads).unwrap());
    let repeat = |v: &[f64]| -> Vec<f64> { (0..reps).flat_map(|_| v.to_vec()).collect() };
    assert_close("gelu f32", &got, &repeat(&want), 1e-6);
    assert_close("gelu' f32", &grad, &repeat(&derivative), 1e-6);
}

#[test]
fn cpu_linear_kernels_equal_burns_linear_ops_on_strided_inputs() {
    type B = NdArray<f32>;
    let device = Default::default();
    let t = |rows: usize, cols: usize, seed: u32| -> Tensor<B, 2> {
        let v: Vec<f32> = (0..rows * cols)
            .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 1000.0 - 1.0)
            .collect();
        Tensor::from_data(TensorData::new(v, [rows, cols]), &device)
    };
    let bias = Tensor::<B, 1>::from_data(
        TensorData::new((0..5).map(|i| i as f32 * 0.3 - 0.7).collect(), [5]),
        &device,
    );
    // x [7, 9] stored contiguous and as the transpose of a [9, 7] array (strided).
    for x in [t(7, 9, 1), t(9, 7, 1).transpose()] {
        let w = t(9, 5, 2);
        let ours = B::adapter_linear(
            prim(x.clone()),
            prim(w.clone()),
            Some(bias.clone().into_primitive().tensor()),
        );
        let burns = B::linear(
            prim(x.clone()),
            prim(w.clone()),
            Some(bias.clone().into_primitive().tensor()),
        );
        assert_close(
            "linear",
            &values_of::<2>(ours),
            &values_of::<2>(burns),
            1e-5,
        );

        let g = t(7, 5, 3);
        let ours = B::adapter_linear_x_backward(prim(w.clone()), prim(g.clone()));
        let burns = B::linear_x_backward(prim(w.clone()), prim(g.clone()));
        assert_close("dx", &values_of::<2>(ours), &values_of::<2>(burns), 1e-5);
        let ours = B::adapter_linear_weight_backward(prim(x.clone()), prim(g.clone()));
        let burns = B::linear_weight_backward(prim(x.clone()), prim(g.clone()));
        assert_close("dw", &values_of::<2>(ours), &values_of::<2>(burns), 1e-5);
        let ours = B::adapter_linear_bias_backward(prim(g.clone()));
        let burns = B::linear_bias_backward(prim(g.clone()));
        assert_close("db", &values_of::<1>(ours), &values_of::<1>(burns), 1e-5);
    }
}

/// Every float parameter: id, shape and values.
struct Collect(Vec<(ParamId, Vec<usize>, Vec<f64>)>);

impl ModuleVisitor<F64> for Collect {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<F64, D>>) {
        let v = p.val();
        self.0
            .push((p.id, v.dims().to_vec(), v.into_data().into_vec().unwrap()));
    }
}

/// The gradient of every float parameter, in visiting order.
struct Grads<'a>(&'a GradientsParams, Vec<Vec<f64>>);

impl ModuleVisitor<F64> for Grads<'_> {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<F64, D>>) {
        let g = self
            .0
            .get::<NdArray<f64>, D>(p.id)
            .expect("every parameter has a gradient");
        self.1.push(g.into_data().into_vec().unwrap());
    }
}

/// Burn initialises parameters in the device's default float type (f32): cast them to f64, as
/// fresh leaves that require gradients.
struct ToF64;

impl ModuleMapper<F64> for ToF64 {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<F64, D>>) -> Param<Tensor<F64, D>> {
        let (id, tensor, mapper) = p.consume();
        let tensor = tensor.cast(DType::F64).detach().require_grad();
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// Adds `delta` to entry `index` of parameter `id`.
struct Perturb {
    id: ParamId,
    index: usize,
    delta: f64,
}

impl ModuleMapper<F64> for Perturb {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<F64, D>>) -> Param<Tensor<F64, D>> {
        let (id, tensor, mapper) = p.consume();
        let tensor = if id == self.id {
            let shape = tensor.dims();
            let mut v: Vec<f64> = tensor.into_data().into_vec().unwrap();
            v[self.index] += self.delta;
            f64_tensor::<F64, D>(v, shape).require_grad()
        } else {
            tensor
        };
        Param::from_mapped_value(id, tensor, mapper)
    }
}

#[test]
fn mlp_adapter_gradients_match_finite_differences() {
    let device = Default::default();
    let config = TrainConfig {
        mlp_hidden_dims: vec![5, 4],
        dropout: 0.0,
        activation: Activation::Gelu,
        layer_norm: true,
        ..TrainConfig::mlp_compact_distribution()
    };
    <F64 as burn::tensor::backend::Backend>::seed(&device, 11);
    let model: AlignModel<F64> = AlignModel::new(&config, 6, 5, 3, &device).map(&mut ToF64);
    let values = |n: usize, seed: u64| -> Vec<f64> {
        (0..n)
            .map(|i| ((((i as u64 + 1) * 2_654_435_761) ^ seed) % 2000) as f64 / 500.0 - 2.0)
            .collect()
    };
    let (x0, y0, r0) = (values(24, 1), values(20, 2), values(12, 3));
    let total = |m: &AlignModel<F64>, x: Tensor<F64, 2>| -> Tensor<F64, 1> {
        let a = m.image.forward(x);
        let b = m.text.forward(f64_tensor(y0.clone(), [4, 5]));
        loss::loss(a, b, f64_tensor(r0.clone(), [4, 3]), 0.2, 0.1, Some(0.5)).total
    };
    let scalar = |t: Tensor<F64, 1>| -> f64 { t.into_data().into_vec::<f64>().unwrap()[0] };

    let x = f64_tensor::<F64, 2>(x0.clone(), [4, 6]).require_grad();
    let backward = total(&model, x.clone()).backward();
    let dx: Vec<f64> = x.grad(&backward).unwrap().into_data().into_vec().unwrap();
    let params = GradientsParams::from_grads(backward, &model);
    let mut grads = Grads(&params, Vec::new());
    model.visit(&mut grads);
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);

    let eps = 1e-6;
    let check = |what: String, analytic: f64, plus: f64, minus: f64| {
        let numeric = (plus - minus) / (2.0 * eps);
        assert!(
            (analytic - numeric).abs() < 1e-7 + 1e-6 * numeric.abs(),
            "{what}: autodiff {analytic} vs finite difference {numeric}"
        );
    };
    let mut checked = 0;
    for ((id, shape, v), g) in collect.0.iter().zip(&grads.1) {
        assert_eq!(v.len(), g.len(), "{shape:?}");
        for (index, &analytic) in g.iter().enumerate() {
            let at = |delta: f64| {
                let m = model.clone().map(&mut Perturb {
                    id: *id,
                    index,
                    delta,
                });
                scalar(total(&m, f64_tensor(x0.clone(), [4, 6])))
            };
            check(
                format!("parameter {shape:?}[{index}]"),
                analytic,
                at(eps),
                at(-eps),
            );
            checked += 1;
        }
    }
    for index in 0..x0.len() {
        let at = |delta: f64| {
            let mut v = x0.clone();
            v[index] += delta;
            scalar(total(&model, f64_tensor(v, [4, 6])))
        };
        check(format!("input[{index}]"), dx[index], at(eps), at(-eps));
    }
    // 2 adapters x (3 Linear + 3 LayerNorm): 12 weight tensors and 12 bias tensors.
    assert_eq!(collect.0.len(), 24);
    assert!(checked > 150, "{checked}");
}

#[test]
fn fused_adamw_follows_burns_adamw_step_by_step() {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamWConfig, Optimizer};
    type B = F32;
    let device = Default::default();
    <B as burn::tensor::backend::Backend>::seed(&device, 5);
    let start: Linear<B> = LinearConfig::new(6, 4).init(&device);
    let values = |m: &Linear<B>| -> Vec<f64> {
        let mut v = widened(m.weight.val());
        v.extend(widened(m.bias.as_ref().unwrap().val()));
        v
    };
    let mut ours = stages::train::optimizer::AdamW::new(0.02).init::<B, Linear<B>>();
    let mut burns = AdamWConfig::new()
        .with_weight_decay(0.02)
        .with_epsilon(1e-8)
        .init::<B, Linear<B>>();
    // Burn initialises parameters lazily, on first use: a clone taken before that would
    // initialise its own from the RNG's next draws. Read them once first.
    let initial = values(&start);
    let (mut a, mut b) = (start.clone(), start);
    for (step, lr) in [1e-2, 5e-3, 2e-2, 1e-3].into_iter().enumerate() {
        let x = Tensor::<B, 2>::from_data(
            TensorData::new(
                (0..30)
                    .map(|i| ((i * 7 + step * 13) % 11) as f32 / 5.0 - 1.0)
                    .collect::<Vec<_>>(),
                [5, 6],
            ),
            &device,
        );
        let grads = |m: &Linear<B>| {
            let y = m.forward(x.clone());
            GradientsParams::from_grads((y.clone() * y).sum().backward(), m)
        };
        let (ga, gb) = (grads(&a), grads(&b));
        a = ours.step(lr, a, ga);
        b = burns.step(lr, b, gb);
    }
    let (va, vb) = (values(&a), values(&b));
    assert_close("parameters after 4 AdamW steps", &va, &vb, 2e-6);
    // And the steps moved them: not a comparison of two untouched copies.
    assert!(va.iter().zip(&initial).any(|(x, y)| (x - y).abs() > 1e-3));
}

#[test]
fn cpu_adamw_kernel_equals_the_primitive_op_default() {
    type P = NdArray<f32>;
    let device = Default::default();
    let t = |seed: usize, scale: f32| -> Tensor<P, 2> {
        let v: Vec<f32> = (0..40_000)
            .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5 - 1.0) * scale)
            .collect();
        Tensor::from_data(TensorData::new(v, [200, 200]), &device)
    };
    let step = ops::AdamWStep {
        lr: 3e-3,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-8,
        weight_decay: 0.02,
        time: 7,
    };
    // v must be non-negative; the gradient of a transposed layout exercises the strided path.
    let inputs = || {
        (
            t(1, 1.0),
            t(2, 0.1).transpose(),
            t(3, 0.01),
            t(4, 1e-4).abs(),
        )
    };
    let (p, g, m, v) = inputs();
    let fused = P::adamw_step(prim(p), prim(g), prim(m), prim(v), &step);
    let (p, g, m, v) = inputs();
    let composite = ops::composite_adamw_step::<P>(prim(p), prim(g), prim(m), prim(v), &step);
    for (name, (a, b)) in ["param", "moment_1", "moment_2"]
        .iter()
        .zip(fused.into_iter().zip(composite))
    {
        assert_close(name, &values_of::<2>(a), &values_of::<2>(b), 1e-6);
    }
}

#[test]
fn sum_of_squares_equals_a_plain_f64_sum() {
    type P = NdArray<f32>;
    let values: Vec<f32> = (0..60_000)
        .map(|i| ((i * 7919) % 2003) as f32 / 1001.5 - 1.0)
        .collect();
    let want: f64 = values.iter().map(|&v| (v as f64) * (v as f64)).sum();
    let t = Tensor::<P, 2>::from_data(TensorData::new(values, [300, 200]), &Default::default());
    // Contiguous, and transposed (strided).
    for t in [t.clone(), t.transpose()] {
        let got = P::sum_of_squares(t.into_primitive().tensor());
        let got: Vec<f32> = Tensor::<P, 1>::from_primitive(TensorPrimitive::Float(got))
            .into_data()
            .into_vec()
            .unwrap();
        assert_close("sum of squares", &[got[0] as f64], &[want], 1e-6);
    }
}

#[test]
fn cpu_layer_norm_equals_burns_and_its_backward_the_primitive_op_default() {
    type P = NdArray<f32>;
    let device = Default::default();
    let t = |rows: usize, cols: usize, seed: usize| -> Tensor<P, 2> {
        let v: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 500.0 - 2.0)
            .collect();
        Tensor::from_data(TensorData::new(v, [rows, cols]), &device)
    };
    let row = |seed: usize| t(1, 300, seed).reshape([300]).into_primitive().tensor();
    let eps = ops::LAYER_NORM_EPSILON;
    // x [40, 300] contiguous and transposed from [300, 40].
    for x in [t(40, 300, 1), t(300, 40, 1).transpose()] {
        let ours = P::adapter_layer_norm(prim(x.clone()), row(2), row(3), eps);
        let burns = P::layer_norm(prim(x.clone()), row(2), Some(row(3)), eps);
        assert_close(
            "layer norm",
            &values_of::<2>(ours),
            &values_of::<2>(burns),
            1e-5,
        );
        let g = t(40, 300, 4);
        let [dx, dg, db] =
            P::adapter_layer_norm_backward(prim(x.clone()), row(2), prim(g.clone()), eps);
        let [cx, cg, cb] =
            ops::composite_layer_norm_backward::<P>(prim(x.clone()), row(2), prim(g.clone()), eps);
        assert_close("dx", &values_of::<2>(dx), &values_of::<2>(cx), 1e-4);
        assert_close("dgamma", &values_of::<1>(dg), &values_of::<1>(cg), 1e-4);
        assert_close("dbeta", &values_of::<1>(db), &values_of::<1>(cb), 1e-4);
    }
}
