//! The training loss equals an independent numpy computation (stages/tests/golden/make_loss.py),
//! its gradients match finite differences, and gradient accumulation sums what one backward of
//! the averaged loss gives.

use std::path::{Path, PathBuf};

use burn::backend::{Autodiff, NdArray};
use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{DType, ElementConversion, Tensor, TensorData};
use stages::train::config::TrainConfig;
use stages::train::loss;
use stages::train::model::AlignModel;

use crate::common::{assert_close, widened};

type F64 = Autodiff<NdArray<f64>>;
type F32 = Autodiff<NdArray<f32>>;

fn golden() -> serde_json::Value {
    let p: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/loss.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn matrix(v: &serde_json::Value) -> (Vec<f64>, [usize; 2]) {
    let rows = v.as_array().unwrap();
    let cols = rows[0].as_array().unwrap().len();
    let flat = rows
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
        .collect();
    (flat, [rows.len(), cols])
}

fn t64(v: &serde_json::Value) -> Tensor<F64, 2> {
    let (flat, shape) = matrix(v);
    Tensor::from_data(
        TensorData::new(flat, shape),
        (&Default::default(), DType::F64),
    )
}

fn s(t: Tensor<F64, 1>) -> f64 {
    t.into_scalar().elem::<f64>()
}

#[test]
fn loss_matches_numpy() {
    let g = golden();
    for case in g["cases"].as_array().unwrap() {
        let w = case["variance_weight"].as_f64();
        let parts = loss::loss(
            t64(&g["a"]),
            t64(&g["b"]),
            t64(&g["reference"]),
            case["temperature"].as_f64().unwrap(),
            case["label_smoothing"].as_f64().unwrap(),
            w,
        );
        for (name, got) in [
            ("contrastive", s(parts.contrastive)),
            ("variance", s(parts.variance)),
            ("total", s(parts.total)),
        ] {
            let want = case[name].as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-10 * want.abs().max(1.0),
                "{name} {case}: {got} vs numpy {want}"
            );
        }
    }
    // Embedding width != reference width: mean variances are matched.
    let got = s(loss::variance_matching(
        t64(&g["a"]),
        t64(&g["b"]),
        t64(&g["reference_wide"]),
    ));
    let want = g["variance_wide"].as_f64().unwrap();
    assert!(
        (got - want).abs() < 1e-10 * want.abs().max(1.0),
        "{got} vs {want}"
    );
}

#[test]
fn gradients_match_finite_differences() {
    let g = golden();
    let (a0, shape) = matrix(&g["a"]);
    let f = |a: Vec<f64>| -> Tensor<F64, 1> {
        let a = Tensor::<F64, 2>::from_data(
            TensorData::new(a, shape),
            (&Default::default(), DType::F64),
        );
        loss::loss(a, t64(&g["b"]), t64(&g["reference"]), 0.2, 0.15, Some(0.4)).total
    };
    let a = Tensor::<F64, 2>::from_data(
        TensorData::new(a0.clone(), shape),
        (&Default::default(), DType::F64),
    )
    .require_grad();
    let total = loss::loss(
        a.clone(),
        t64(&g["b"]),
        t64(&g["reference"]),
        0.2,
        0.15,
        Some(0.4),
    )
    .total;
    let grads = total.backward();
    let analytic: Vec<f64> = a
        .grad(&grads)
        .unwrap()
        .into_data()
        .into_vec::<f64>()
        .unwrap();
    let eps = 1e-6;
    for i in 0..a0.len() {
        let mut plus = a0.clone();
        plus[i] += eps;
        let mut minus = a0.clone();
        minus[i] -= eps;
        let numeric = (s(f(plus)) - s(f(minus))) / (2.0 * eps);
        assert!(
            (analytic[i] - numeric).abs() < 1e-6 * numeric.abs().max(1.0),
            "d/da[{i}]: autodiff {} vs finite difference {numeric}",
            analytic[i]
        );
    }
}

#[test]
fn accumulated_micro_batches_equal_one_backward_of_the_mean() {
    // Linear adapter (no dropout): k micro-batches of B with loss/k each, gradients summed, equal
    // the gradients of one backward of the mean of the k micro-batch losses.
    let device = Default::default();
    let config = TrainConfig {
        embed_dim: 3,
        ..TrainConfig::linear()
    };
    <F32 as burn::tensor::backend::Backend>::seed(&device, 3);
    let model: AlignModel<F32> = AlignModel::new(&config, 6, 5, 3, &device);
    let rand = |rows: usize, cols: usize, seed: u64| -> Tensor<F32, 2> {
        let v: Vec<f32> = (0..rows * cols)
            .map(|i| ((((i as u64 + 1) * 2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        Tensor::from_data(TensorData::new(v, [rows, cols]), &device)
    };
    let k = 3;
    let batches: Vec<_> = (0..k)
        .map(|i| (rand(4, 6, i), rand(4, 5, 10 + i), rand(4, 3, 20 + i)))
        .collect();
    let micro_loss =
        |m: &AlignModel<F32>, (x, y, r): &(Tensor<F32, 2>, Tensor<F32, 2>, Tensor<F32, 2>)| {
            loss::loss(
                m.image.forward(x.clone()),
                m.text.forward(y.clone()),
                r.clone(),
                0.15,
                0.1,
                Some(0.3),
            )
            .total
        };
    let mut acc = GradientsAccumulator::new();
    for b in &batches {
        let grads = micro_loss(&model, b).div_scalar(k as f64).backward();
        acc.accumulate(&model, GradientsParams::from_grads(grads, &model));
    }
    let accumulated = acc.grads();
    let mean = batches
        .iter()
        .map(|b| micro_loss(&model, b))
        .reduce(|a, b| a + b)
        .unwrap()
        .div_scalar(k as f64);
    let single = GradientsParams::from_grads(mean.backward(), &model);
    let norm_acc = stages::train::clip::global_norm::<F32, _>(&model, &accumulated);
    let norm_one = stages::train::clip::global_norm::<F32, _>(&model, &single);
    assert!(
        (norm_acc - norm_one).abs() < 1e-5 * norm_one,
        "{norm_acc} vs {norm_one}"
    );
    // Parameter by parameter.
    struct Compare<'a> {
        a: &'a GradientsParams,
        b: &'a GradientsParams,
        worst: f64,
    }
    impl burn::module::ModuleVisitor<F32> for Compare<'_> {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<F32, D>>) {
            let x = self.a.get::<NdArray<f32>, D>(p.id).unwrap();
            let y = self.b.get::<NdArray<f32>, D>(p.id).unwrap();
            let d = (x - y).abs().max().into_scalar().elem::<f64>();
            self.worst = self.worst.max(d);
        }
    }
    let mut c = Compare {
        a: &accumulated,
        b: &single,
        worst: 0.0,
    };
    model.visit(&mut c);
    assert!(c.worst < 1e-6, "largest gradient difference {}", c.worst);
}

#[test]
fn global_norm_clipping_scales_all_gradients_together() {
    let device = Default::default();
    let config = TrainConfig {
        embed_dim: 3,
        ..TrainConfig::linear()
    };
    let model: AlignModel<F32> = AlignModel::new(&config, 6, 5, 3, &device);
    let x = Tensor::<F32, 2>::from_data(
        TensorData::new((0..24).map(|i| i as f32 / 10.0).collect::<Vec<_>>(), [4, 6]),
        &device,
    );
    let y = Tensor::<F32, 2>::from_data(
        TensorData::new(
            (0..20).map(|i| (i as f32).sin()).collect::<Vec<_>>(),
            [4, 5],
        ),
        &device,
    );
    let l = loss::contrastive(model.image.forward(x), model.text.forward(y), 0.05, 0.0);
    let mut grads = GradientsParams::from_grads(l.backward(), &model);
    let before = stages::train::clip::global_norm::<F32, _>(&model, &grads);
    assert!(before > 0.1, "{before}");
    let returned = stages::train::clip::clip_global_norm::<F32, _>(&model, &mut grads, 0.1);
    assert!((returned - before).abs() < 1e-9);
    let after = stages::train::clip::global_norm::<F32, _>(&model, &grads);
    assert!(
        (after - 0.1).abs() < 1e-4,
        "clipped to the max norm: {after}"
    );
}

#[test]
fn fused_loss_gradients_equal_autodiff_of_the_formulas() {
    // The ops' gradients (computed with the value) against Burn's autodiff through the same
    // formulas written as tensor operations (stages::train::ops::loss::*_value), for both
    // inputs, with the reference as wide as the embeddings and wider.
    use stages::train::ops::loss as formulas;
    let g = golden();
    for reference in ["reference", "reference_wide"] {
        let a = t64(&g["a"]).require_grad();
        let b = t64(&g["b"]).require_grad();
        let r = t64(&g[reference]);
        let fused = loss::contrastive(a.clone(), b.clone(), 0.2, 0.15)
            + loss::variance_matching(a.clone(), b.clone(), r.clone()).mul_scalar(0.4);
        let grads = fused.backward();
        let (fa, fb) = (a.grad(&grads).unwrap(), b.grad(&grads).unwrap());

        let a2 = t64(&g["a"]).require_grad();
        let b2 = t64(&g["b"]).require_grad();
        let plain = formulas::contrastive_value(a2.clone(), b2.clone(), 0.2, 0.15)
            + formulas::variance_matching_value(a2.clone(), b2.clone(), r).mul_scalar(0.4);
        let grads = plain.backward();
        let (pa, pb) = (a2.grad(&grads).unwrap(), b2.grad(&grads).unwrap());
        assert_close(
            &format!("dL/da ({reference})"),
            &widened(fa),
            &widened(pa),
            1e-12,
        );
        assert_close(
            &format!("dL/db ({reference})"),
            &widened(fb),
            &widened(pb),
            1e-12,
        );
    }
}

#[test]
fn cpu_loss_kernels_equal_the_default_ops() {
    // The ndarray kernels against the defaults every other backend (CUDA) uses, in f64 and f32,
    // on a batch with an all-zero row (its norm is clamped to 1e-12).
    use burn::tensor::{Tensor as T, TensorPrimitive};
    use stages::train::ops::{AdapterOps, loss as formulas};
    fn run<B: AdapterOps>(
        a: Vec<f64>,
        b: Vec<f64>,
        r: Vec<f64>,
        rw: usize,
        dtype: DType,
        tol: f64,
    ) {
        let device = Default::default();
        let t = |v: Vec<f64>, cols: usize| -> T<B, 2> {
            let rows = v.len() / cols;
            T::<B, 2>::from_data(TensorData::new(v, [rows, cols]), (&device, dtype))
        };
        let p = |x: T<B, 2>| x.into_primitive().tensor();
        let back = |x| T::<B, 2>::from_primitive(TensorPrimitive::Float(x));
        let (a, b, r) = (t(a, 4), t(b, 4), t(r, rw));
        let [l, ga, gb] = B::contrastive_loss_and_grads(p(a.clone()), p(b.clone()), 0.07, 0.1);
        let value = formulas::contrastive_value(a.clone(), b.clone(), 0.07, 0.1);
        let [wa, wb] = formulas::contrastive_grads(a.clone(), b.clone(), 0.07, 0.1);
        let scalar = |x| {
            T::<B, 1>::from_primitive(TensorPrimitive::Float(x))
                .into_scalar()
                .elem::<f64>()
        };
        let loss_value = scalar(B::contrastive_loss(p(a.clone()), p(b.clone()), 0.07, 0.1));
        assert_close(
            "contrastive",
            &[scalar(l), loss_value],
            &[value.clone().into_scalar().elem::<f64>(); 2],
            tol,
        );
        assert_close("contrastive dL/da", &widened(back(ga)), &widened(wa), tol);
        assert_close("contrastive dL/db", &widened(back(gb)), &widened(wb), tol);

        let [l, ga, gb] =
            B::variance_matching_loss_and_grads(p(a.clone()), p(b.clone()), p(r.clone()));
        let value = formulas::variance_matching_value(a.clone(), b.clone(), r.clone());
        let [wa, wb] = formulas::variance_matching_grads(a.clone(), b.clone(), r.clone());
        let loss_value = scalar(B::variance_matching_loss(p(a), p(b), p(r)));
        assert_close(
            "variance",
            &[scalar(l), loss_value],
            &[value.into_scalar().elem::<f64>(); 2],
            tol,
        );
        assert_close("variance dL/da", &widened(back(ga)), &widened(wa), tol);
        assert_close("variance dL/db", &widened(back(gb)), &widened(wb), tol);
    }
    let g = golden();
    let mut a = matrix(&g["a"]).0;
    a[4..8].fill(0.0);
    let b = matrix(&g["b"]).0;
    for (r, width) in [
        (matrix(&g["reference"]).0, 4),
        (matrix(&g["reference_wide"]).0, 6),
    ] {
        run::<NdArray<f64>>(a.clone(), b.clone(), r.clone(), width, DType::F64, 1e-12);
        run::<NdArray<f32>>(a.clone(), b.clone(), r, width, DType::F32, 2e-5);
    }
}
