//! Sweeps and `run -j N` through the real CLI over toy stages (`pipeline-toy`): which artifacts
//! each member builds and shares, what a second run and a changed grid rebuild, parallel builds,
//! failures that leave the other members alone, and errors before any work.

use std::collections::BTreeMap;

use crate::engine::{Toy, set};

/// How many times each stage ran since the last call (and clears the log).
fn counts(t: &Toy) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for name in t.ran_list() {
        *out.entry(name).or_insert(0) += 1;
    }
    out
}

fn count_map(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The most builds of any stage whose name starts with `prefix` running at once.
fn max_overlap(t: &Toy, prefix: &str) -> usize {
    let text = std::fs::read_to_string(t.path().join("spans.log")).unwrap_or_default();
    let (mut now, mut most) = (0usize, 0usize);
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("start", s)) if s.starts_with(prefix) => {
                now += 1;
                most = most.max(now);
            }
            Some(("end", s)) if s.starts_with(prefix) => now = now.saturating_sub(1),
            _ => {}
        }
    }
    most
}

const GRID: &str = "[train.a]\nlr = 0.1\n\n[sweep.grid]\nbase = \"a\"\ngrid = { lr = [0.1, 0.2] }\nseeds = [0, 1, 2]\n";

#[test]
fn a_sweep_shares_artifacts_and_rebuilds_only_new_members() {
    let t = Toy::new(GRID);
    // The plain run's train:a is the member lr=0.1 seed=0: the sweep reuses it.
    t.ok(&["run", "--stage", "score:a"]);
    assert_eq!(t.ran(), set(&["source", "upper", "train:a", "score:a"]));
    let out = t.ok(&["sweep", "grid"]);
    assert!(
        out.contains("sweep grid: 6 members, 15 distinct artifacts"),
        "{out}"
    );
    assert_eq!(
        counts(&t),
        count_map(&[("train:a", 5), ("score:a", 5)]),
        "the features-like stages are shared; one member was built by the plain run"
    );
    assert!(
        out.contains("[lr=0.2 seed=1]"),
        "run lines name the member:\n{out}"
    );
    assert!(out.contains("6 members built, 0 failed"), "{out}");

    // Its values live in the manifests, not only in folder names.
    let text = t.ok(&["status", "--sweep", "grid", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["state"] == "built"), "{text}");
    assert_eq!(rows[5]["values"]["lr"], 0.2);
    assert_eq!(rows[5]["values"]["seed"], 2);
    let manifests: Vec<serde_json::Value> = std::fs::read_dir(t.path().join("artifacts/train.a"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("manifest.json")).ok())
        .map(|b| serde_json::from_slice(&b).unwrap())
        .collect();
    let mut params: Vec<(f64, u64)> = manifests
        .iter()
        .map(|m| {
            (
                m["params"]["lr"].as_f64().unwrap(),
                m["params"]["seed"].as_u64().unwrap(),
            )
        })
        .collect();
    params.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(
        params,
        [(0.1, 0), (0.1, 1), (0.1, 2), (0.2, 0), (0.2, 1), (0.2, 2)]
    );

    // The compare tables: one row per member with its values and what its stages reported.
    let json: serde_json::Value =
        serde_json::from_str(&t.ok(&["compare", "grid", "--json"])).unwrap();
    let rows = json["members"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[4]["values"]["lr"], 0.2);
    assert_eq!(rows[4]["values"]["seed"], 1);
    assert_eq!(rows[4]["results"]["train.lr"], 0.2);
    assert!(rows[4]["results"]["score.score"].as_f64().unwrap() > 0.0);
    let aggregates = json["aggregates"].as_array().unwrap();
    assert_eq!(aggregates.len(), 4, "2 configurations x 2 columns");
    assert!(aggregates.iter().all(|a| a["n"] == 3));
    let correlations = json["correlations"].as_array().unwrap();
    assert_eq!(correlations.len(), 1, "train.lr against score.score");
    let table = t.ok(&["compare", "grid", "--sort", "train.lr", "--only-changed"]);
    assert!(
        table.contains("member  lr") && table.contains("score.score"),
        "{table}"
    );
    assert!(table.contains("across seeds"), "{table}");
    let bad = t.run_with(&["compare", "grid", "--sort", "nope"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    check_page(&t, aggregates);

    let again = t.ok(&["run", "--stage", "sweep:grid"]);
    assert!(again.contains("0 ran, 15 reused"), "{again}");
    assert!(t.ran().is_empty(), "a second run builds nothing");

    // One grid value changed: only its three members are new.
    let changed = ["--set", "sweep.grid.grid={ lr = [0.1, 0.3] }"];
    let status = t.ok(&[&["status"], &changed[..]].concat());
    assert!(
        status.contains("sweep   grid: 6 members: 3 built, 0 stale, 3 missing"),
        "{status}"
    );
    t.ok(&[&["sweep", "grid"], &changed[..]].concat());
    assert_eq!(counts(&t), count_map(&[("train:a", 3), ("score:a", 3)]));

    // Upstream changed: every member is stale (same values, other inputs), then rebuilt.
    let upstream = ["--set", "upper.suffix=?"];
    let status = t.ok(&[&["status"], &upstream[..]].concat());
    assert!(
        status.contains("6 members: 0 built, 6 stale, 0 missing"),
        "{status}"
    );

    // gc keeps every member of the configuration's sweeps.
    let gc = t.ok(&["gc", "--dry-run"]);
    assert!(
        gc.contains("kept 15, would remove 7"),
        "the members of the configuration's sweep and its compare stay, the lr=0.3 ones go: {gc}"
    );
}

/// The sweep's page opens in Chromium with every figure, and its best configuration is the
/// aggregates' highest mean (train.lr's: the toy's scores tie).
fn check_page(t: &Toy, aggregates: &[serde_json::Value]) {
    let dirs: Vec<_> = std::fs::read_dir(t.path().join("artifacts/compare.grid"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(dirs.len(), 1);
    let index = dirs[0].join("index.html");
    let shot = crate::common::repo().join("tests/output/sweep.png");
    let page = crate::common::browser::check_page(&index, &shot);
    assert!(page.broken.is_empty(), "broken images: {:?}", page.broken);
    // lr is a number: the results against it, the best table, one correlation's bar and scatter.
    assert_eq!(page.images, 3, "trends, correlations, one scatter");
    assert_eq!(page.sections, ["trends", "best", "correlations", "tables"]);
    assert!(page.console.is_empty(), "console: {:?}", page.console);
    let best = aggregates
        .iter()
        .filter(|a| a["column"] == "train.lr")
        .max_by(|a, b| {
            a["mean"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["mean"].as_f64().unwrap())
        })
        .unwrap();
    let html = std::fs::read_to_string(&index).unwrap();
    let row = format!(
        "<td>lr</td><td>lr={}</td><td>{:.3} [{:.3}, {:.3}]</td><td>3</td>",
        best["values"]["lr"],
        best["mean"].as_f64().unwrap(),
        best["ci_low"].as_f64().unwrap(),
        best["ci_high"].as_f64().unwrap()
    );
    assert!(html.contains(&row), "{row} in\n{html}");
}

#[test]
fn members_with_the_same_effective_values_are_one_artifact() {
    // 1 and 1.0 are the same f64: the same parameters, the same key.
    let t = Toy::new(
        "[train.a]\n\n[sweep.s]\nbase = \"a\"\ngrid = { lr = [1, 1.0], \"score.scale\" = [2.0] }\n",
    );
    let out = t.ok(&["sweep", "s"]);
    assert!(out.contains("2 members, 5 distinct artifacts"), "{out}");
    assert_eq!(
        counts(&t),
        count_map(&[("source", 1), ("upper", 1), ("train:a", 1), ("score:a", 1)])
    );
}

#[test]
fn a_failing_member_is_reported_and_the_others_finish_in_parallel() {
    let t = Toy::new(
        "[train.a]\nsleep_ms = 300\n\n[sweep.s]\nbase = \"a\"\ngrid = { fail = [false, true] }\n\
         seeds = [0, 1, 2]\n",
    );
    let out = t.run_with(&["sweep", "s", "-j", "3"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for seed in 0..3 {
        assert!(
            text.contains(&format!("failed member: [fail=true seed={seed}]")),
            "{text}"
        );
    }
    assert!(text.contains("3 members built, 3 failed"), "{text}");
    assert!(text.contains("failed on purpose"), "{text}");
    assert_eq!(
        counts(&t),
        count_map(&[("source", 1), ("upper", 1), ("train:a", 6), ("score:a", 3)])
    );
    assert!(
        max_overlap(&t, "train:") >= 2,
        "-j 3 builds members at once"
    );
    let status = t.ok(&["status", "--sweep", "s"]);
    assert_eq!(status.matches("built").count(), 3, "{status}");
    assert_eq!(status.matches("missing").count(), 3, "{status}");
}

#[test]
fn run_jobs_builds_independent_stages_at_once_and_keep_going_finishes_the_rest() {
    let t = Toy::new("[train.a]\nsleep_ms = 300\n\n[train.b]\nsleep_ms = 300\n");
    let out = t.ok(&["run", "-j", "2"]);
    assert!(out.contains("start"), "{out}");
    assert_eq!(
        max_overlap(&t, "train:"),
        2,
        "the two adapters trained at once"
    );
    assert!(t.ok(&["verify"]).contains("0 broken"));

    let t = Toy::new("[train.a]\nfail = true\n\n[train.b]\n");
    let out = t.run_with(&["run", "--keep-going"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("failed: train:a"), "{text}");
    assert!(text.contains("skipped score:a"), "{text}");
    assert!(
        t.ran().contains("score:b"),
        "b does not need a: it is built"
    );
    // Without --keep-going the run stops at the failure (exit 1) and b's score is not started.
    let t = Toy::new("[train.a]\nfail = true\n\n[train.b]\n");
    let out = t.run_with(&["run"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let ran = t.ran();
    assert!(
        ran.contains("train:a") && !ran.contains("train:b"),
        "{ran:?}"
    );
}

#[test]
fn sweep_mistakes_fail_before_any_work_and_name_the_key() {
    let cases = [
        ("grid = { lrr = [1] }", "`train.a.lrr` (sweep s, "),
        ("grid = { lr = [\"x\"] }", "`train.a.lr` = \"x\" (sweep s, "),
        ("grid = { lr = [] }", "`sweep.s.grid.lr` = []"),
        ("grid = { \"align.topk\" = [1] }", "`align.topk` (sweep s, "),
    ];
    for (grid, expected) in cases {
        let t = Toy::new(&format!(
            "[train.a]\n\n[sweep.s]\nbase = \"a\"\n{grid}\nseeds = [0, 1]\n"
        ));
        let out = t.run_with(&["sweep", "s"], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{grid}: {err}");
        assert!(err.contains(expected), "{grid}: {err}");
        assert!(t.ran().is_empty(), "{grid}: nothing ran");
    }
    let t = Toy::new("[train.a]\n\n[sweep.s]\nbase = \"b\"\nseeds = [0]\n");
    let out = t.run_with(&["sweep", "s"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`sweep.s.base` names \"b\"") && err.contains("adapters: a"),
        "{err}"
    );
    let out = t.run_with(&["sweep", "nope"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no sweep named `nope`") && err.contains("its sweeps: s"),
        "{err}"
    );
    // A plain run does not read sweeps: an invalid one does not stop it.
    t.ok(&["run"]);
}

#[test]
fn a_hundred_member_sweep_builds_every_member_once_in_parallel() {
    let lrs: Vec<String> = (1..=25).map(|i| format!("{}", i as f64 / 100.0)).collect();
    let t = Toy::new(&format!(
        "[train.a]\n\n[sweep.big]\nbase = \"a\"\ngrid = {{ lr = [{}] }}\nseeds = [0, 1, 2, 3]\n",
        lrs.join(", ")
    ));
    let out = t.ok(&["sweep", "big", "-j", "4"]);
    assert!(out.contains("100 members built, 0 failed"), "{out}");
    assert!(
        !out.contains("waiting"),
        "no member waited for a lock:\n{out}"
    );
    assert_eq!(
        counts(&t),
        count_map(&[
            ("source", 1),
            ("upper", 1),
            ("train:a", 100),
            ("score:a", 100)
        ])
    );
    assert!(t.ok(&["verify"]).contains("203 ok, 0 broken"));
    assert!(t.ok(&["status"]).contains("100 members: 100 built"));
}
