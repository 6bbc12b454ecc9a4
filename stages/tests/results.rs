//! The stages' result files are written from their types and read back through the same types:
//! JSON and Parquet round-trip, and a file that does not match its type is an error naming the
//! file and the field (never a NaN on the report page).

use stages::evaluate::align::results::{
    AlignArtifact, AlignResults, AlignSettings, HypothesesFile, IntervalKind, MetricRow,
    MetricsFile, SpaceRow, SpacesFile,
};
use stages::evaluate::hypotheses::{self, Hypothesis, HypothesisTest, Tested, Verdict};
use stages::evaluate::probe::{
    ProbeArtifact, ProbeConfig, ProbeFile, ProbeResults, ProbeRow, RetrievalFile, RetrievalRow,
    ZeroShotFile, ZeroShotRow,
};
use stages::metrics::Metric;
use stages::metrics::retrieval::{Direction, Retrieval};
use stages::spaces::{PAIRS, SpaceName, Weights};

fn align_results() -> AlignResults {
    let settings = AlignSettings {
        split: "val".into(),
        n: 12,
        resample_rows: 12,
        topk: 3,
        clamp_outliers: true,
        cca_dim: 2,
        bootstrap: 10,
        costly_resamples: 5,
        permutations: 0,
        alpha: 0.05,
        seed: 7,
    };
    let rows = PAIRS
        .iter()
        .enumerate()
        .map(|(i, p)| MetricRow {
            metric: Metric::ALL[i % Metric::ALL.len()],
            pair: p.name(),
            a: p.a,
            b: p.b,
            adapter: p.weights(),
            score: 0.1 * i as f64,
            ci_low: 0.0,
            ci_high: 1.0,
            p_value: f64::NAN,
            tau: f64::NAN,
            calibrated: f64::NAN,
            n: 12,
            resamples: 10,
            resample_rows: 12,
            interval: IntervalKind::of(Metric::ALL[i % Metric::ALL.len()]),
        })
        .collect();
    let tests = vec![HypothesisTest {
        hypothesis: Hypothesis::H2,
        metric: Metric::Cknna,
        tested: Tested::AlignedMean,
        adapter: Weights::Untrained,
        score: 0.5,
        baseline: 0.4,
        margin: 0.1,
        ci_low: -0.2,
        ci_high: 0.3,
        verdict: Verdict::Inconclusive,
    }];
    let spaces = SpaceName::ALL
        .iter()
        .map(|&space| SpaceRow {
            space,
            rows: 12,
            dim: 4,
            mean_pairwise_cosine: 0.25,
            variance_difference_to_reference: f64::NAN,
        })
        .collect();
    AlignResults {
        metrics: MetricsFile {
            settings: settings.clone(),
            rows,
        },
        hypotheses: HypothesesFile {
            settings: settings.clone(),
            definition: hypotheses::definitions(),
            tests,
        },
        spaces: SpacesFile { settings, spaces },
    }
}

/// Field-by-field equality with NaN equal to NaN (the files keep "not measured").
fn same<T: serde::Serialize>(a: &T, b: &T) -> bool {
    serde_json::to_value(a).unwrap() == serde_json::to_value(b).unwrap()
}

#[test]
fn align_results_round_trip_through_json_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = AlignArtifact::at(dir.path());
    let written = align_results();
    artifact.write(&written).unwrap();
    let read = artifact.read().unwrap();
    assert!(same(&written.metrics, &read.metrics));
    assert!(same(&written.hypotheses, &read.hypotheses));
    assert!(same(&written.spaces, &read.spaces));
    let table = artifact.read_metric_table().unwrap();
    assert!(same(&written.metrics.rows, &table));
    let tests = artifact.read_hypothesis_table().unwrap();
    assert_eq!(written.hypotheses.tests, tests);
    // The names in the files are the documented ones.
    let json = std::fs::read_to_string(dir.path().join("metrics.json")).unwrap();
    assert!(
        json.contains("\"pair\": \"aligned_image-reference\""),
        "{json}"
    );
    assert!(json.contains("\"adapter\": \"none\""), "{json}");
    assert!(json.contains("\"p_value\": null"), "NaN is written as null");
}

#[test]
fn a_renamed_field_is_an_error_naming_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = AlignArtifact::at(dir.path());
    artifact.write(&align_results()).unwrap();
    let path = dir.path().join("metrics.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"score\"", "\"value\"")).unwrap();
    let err = artifact.read().unwrap_err().to_string();
    assert!(err.contains("metrics.json"), "{err}");
    assert!(err.contains("`value`") || err.contains("`score`"), "{err}");

    artifact.write(&align_results()).unwrap();
    let path = dir.path().join("hypotheses.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"inconclusive\"", "\"maybe\"")).unwrap();
    let err = artifact.read().unwrap_err().to_string();
    assert!(
        err.contains("hypotheses.json") && err.contains("`maybe`"),
        "{err}"
    );
}

#[test]
fn probe_results_round_trip_with_their_recall_columns() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = ProbeArtifact::at(dir.path());
    let retrieval = |weights, direction| RetrievalRow {
        adapter: weights,
        retrieval: Retrieval {
            direction,
            queries: 5,
            gallery: 9,
            recall: vec![(1, 0.2), (5, 0.6), (10, 1.0)],
            median_rank: 3.0,
            mean_rank: 3.4,
        },
    };
    let written = ProbeResults {
        probe: ProbeFile {
            settings: ProbeConfig::default(),
            classes: 10,
            rows: vec![ProbeRow {
                features: SpaceName::AlignedImage,
                dim: 384,
                train_rows: 40,
                test_rows: 20,
                train_accuracy: 0.9,
                test_accuracy: 0.7,
                ratio_to_reference: 1.1,
            }],
        },
        retrieval: RetrievalFile {
            split: "val".into(),
            dataset_split: false,
            rows: vec![
                retrieval(Weights::Trained, Direction::ImageToText),
                retrieval(Weights::Untrained, Direction::TextToImage),
            ],
        },
        zero_shot: ZeroShotFile {
            class_names: vec!["cat".into(), "dog".into()],
            prompts: vec!["a cat.".into(), "a dog.".into()],
            rows: vec![ZeroShotRow {
                adapter: Weights::Untrained,
                classes: 2,
                test_rows: 20,
                top1: 0.55,
                top5: 1.0,
                chance_top1: 0.5,
                chance_top5: 1.0,
            }],
        },
    };
    artifact.write(&written).unwrap();
    assert_eq!(artifact.read().unwrap(), written);
    assert_eq!(artifact.read_probe_table().unwrap(), written.probe.rows);
    assert_eq!(
        artifact.read_retrieval_table().unwrap(),
        written.retrieval.rows
    );
    assert_eq!(
        artifact.read_zero_shot_table().unwrap(),
        written.zero_shot.rows
    );
    let t = stages::table::Table::read(&artifact.retrieval_parquet()).unwrap();
    assert_eq!(
        t.column_names(),
        [
            "adapter",
            "direction",
            "queries",
            "gallery",
            "recall_at_1",
            "recall_at_5",
            "recall_at_10",
            "median_rank",
            "mean_rank"
        ]
    );
}
