//! Shared passes through the real CLI over toy stages: `lens:<name>` stages of one `pass` are
//! one computation (encoders reading one model file), built once for all the members a run
//! builds, each artifact with the key and bytes it has when built alone.

use crate::engine::{Toy, set};

const TWO_LENSES: &str = "[lens.a]\ntake = 2\n[lens.b]\ntake = 4\n";

fn read(t: &Toy, stage: &str) -> String {
    read_with(t, stage, &[])
}

/// The lens's output under `--set` values.
fn read_with(t: &Toy, stage: &str, set: &[&str]) -> String {
    let mut args = vec!["show", stage];
    args.extend_from_slice(set);
    let dir = t.ok(&args);
    std::fs::read_to_string(std::path::Path::new(dir.trim()).join("lens.txt")).unwrap()
}

fn key(t: &Toy, stage: &str) -> String {
    let dir = t.ok(&["show", stage]);
    dir.trim().rsplit('/').next().unwrap().to_string()
}

#[test]
fn lenses_of_one_pass_are_built_once_with_their_own_keys_and_bytes() {
    let together = Toy::new(TWO_LENSES);
    let out = together.ok(&["run"]);
    assert_eq!(
        together.ran(),
        set(&[
            "source",
            "upper",
            "side",
            "slow",
            "report",
            "pass lens:a lens:b"
        ]),
        "{out}"
    );
    assert!(out.contains("(one pass for 2 artifacts)"), "{out}");
    assert_eq!(read(&together, "lens:a"), "HE (a)");
    assert_eq!(read(&together, "lens:b"), "HELL (a)");

    // Each built alone (one stage per run): the same keys and bytes.
    let alone = Toy::new(TWO_LENSES);
    for stage in ["lens:a", "lens:b"] {
        alone.ok(&["run", "--stage", stage]);
        assert_eq!(key(&alone, stage), key(&together, stage));
        assert_eq!(read(&alone, stage), read(&together, stage));
    }
    assert_eq!(alone.ran(), set(&["source", "lens:a", "lens:b"]));

    // A setting outside the pass reruns only that member, alone.
    together.ok(&["run", "--set", "lens.b.take=1"]);
    assert_eq!(together.ran(), set(&["lens:b"]));
    assert_eq!(
        read_with(&together, "lens:b", &["--set", "lens.b.take=1"]),
        "H (a)"
    );
    assert_eq!(key(&together, "lens:a"), key(&alone, "lens:a"));

    // Another pass: two computations.
    let apart = Toy::new("[lens.a]\n[lens.b]\npass = \"b\"\n");
    apart.ok(&["run", "--stage", "lens"]);
    assert_eq!(apart.ran(), set(&["source", "lens:a", "lens:b"]));
}

#[test]
fn a_failed_pass_fails_every_member_and_leaves_nothing() {
    let t = Toy::new("[lens.a]\nfail = true\n[lens.b]\nfail = true\n[lens.c]\n");
    let out = t.run_with(&["run", "--stage", "lens", "--keep-going"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("failed  lens:a"), "{stdout}");
    assert!(stdout.contains("failed  lens:b"), "{stdout}");
    assert!(stdout.contains("ran     lens:c"), "{stdout}");
    assert!(
        format!("{stdout}{stderr}").contains("failed on purpose"),
        "{stdout}{stderr}"
    );
    for stage in ["lens.a", "lens.b"] {
        let dir = t.path().join("artifacts").join(stage);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{stage}: {left:?}");
    }
    // Fixed, both are built in one pass.
    t.ran();
    t.ok(&[
        "run",
        "--stage",
        "lens",
        "--set",
        "lens.a.fail=false",
        "--set",
        "lens.b.fail=false",
    ]);
    assert_eq!(t.ran(), set(&["pass lens:a lens:b"]));
}
