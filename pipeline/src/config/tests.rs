//! Tests of [`super`] (config).

use super::*;

#[test]
fn set_parses_toml_values_and_bare_strings() {
    let dir = std::env::temp_dir();
    let mut c = Config::from_str("[a]\nx = 1\n", &dir).unwrap();
    c.apply_set("a.x=2e-4").unwrap();
    c.apply_set("a.name=flickr30k").unwrap();
    c.apply_set("a.list=[1, 2]").unwrap();
    c.apply_set("b.c.d=true").unwrap();
    let a = c.section("a");
    assert_eq!(a["x"].as_float(), Some(2e-4));
    assert_eq!(a["name"].as_str(), Some("flickr30k"));
    assert_eq!(a["list"].as_array().unwrap().len(), 2);
    assert_eq!(c.section("b.c")["d"].as_bool(), Some(true));
    assert!(c.apply_set("novalue").is_err());
    assert!(c.apply_set("a..b=1").is_err());
}

#[derive(serde::Deserialize, serde::Serialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Section {
    lr: f64,
    steps: usize,
    mean: Vec<f64>,
}

#[test]
fn type_errors_name_the_key_its_value_and_where_it_was_set() {
    let dir = std::env::temp_dir();
    let text = "[a]\nlr = 0.1\n\n[b]\nsteps = -4\n";
    let mut c = Config::from_str(text, &dir).unwrap();
    let err = c.typed::<Section>("b").err().unwrap().to_string();
    assert!(
        err.contains("`b.steps` = -4 (") && err.contains(":5)"),
        "{err}"
    );
    assert!(err.contains("usize"), "{err}");
    c.apply_set("a.lr=abc").unwrap();
    let err = c.typed::<Section>("a").err().unwrap().to_string();
    assert!(err.contains("`a.lr` = \"abc\" (--set)"), "{err}");
    assert!(err.contains("expected f64"), "{err}");
    let c = Config::from_str("[b]\nmean = [1.0, \"x\"]\n", &dir).unwrap();
    let err = c.typed::<Section>("b").err().unwrap().to_string();
    assert!(err.contains("`b.mean[1]` = \"x\""), "{err}");
}

#[test]
fn unknown_keys_are_listed_with_the_valid_ones() {
    let dir = std::env::temp_dir();
    let mut c = Config::from_str("[a]\nx = 1\n", &dir).unwrap();
    c.apply_set("a.y=3").unwrap();
    let known: BTreeSet<String> = ["a.x".to_string()].into();
    let err = c
        .check_known(&known, &BTreeSet::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown --set key `a.y`"), "{err}");
    assert!(err.contains("a.x"), "{err}");
}

#[test]
fn a_renamed_key_is_named_with_its_new_name() {
    let dir = std::env::temp_dir();
    let known: BTreeSet<String> = ["align.costly_resamples".to_string()].into();
    let c = Config::from_str("[align]\nsvcca_resamples = 50\n", &dir).unwrap();
    let err = c.check_known(&known, &BTreeSet::new()).unwrap_err();
    let err = err.to_string();
    assert!(
        err.contains("`align.svcca_resamples` is now `align.costly_resamples`"),
        "{err}"
    );
    let mut c = Config::from_str("", &dir).unwrap();
    c.apply_set("modelset.svcca_resamples=5").unwrap();
    let err = c.check_known(&known, &BTreeSet::new()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("--set: `modelset.svcca_resamples` is now"),
        "{err}"
    );
}
