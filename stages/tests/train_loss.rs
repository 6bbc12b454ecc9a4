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
