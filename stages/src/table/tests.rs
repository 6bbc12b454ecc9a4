//! Tests of [`super`] (table).

use super::*;

#[test]
fn round_trip() {
    let dir = std::env::temp_dir().join(format!("table-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("t.parquet");
    write(
        &p,
        vec![
            ("id", Column::Str(vec!["a".into(), "b".into()])),
            ("n", Column::I64(vec![1, 2])),
            ("x", Column::F64(vec![0.5, 1.5])),
            (
                "v",
                Column::Vectors {
                    dim: 3,
                    values: vec![1., 2., 3., 4., 5., 6.],
                },
            ),
        ],
    )
    .unwrap();
    let t = Table::read(&p).unwrap();
    assert_eq!(t.num_rows(), 2);
    assert_eq!(t.strings("id").unwrap(), vec!["a", "b"]);
    assert_eq!(t.i64s("n").unwrap(), vec![1, 2]);
    assert_eq!(t.f64s("x").unwrap(), vec![0.5, 1.5]);
    assert_eq!(t.vectors("v").unwrap(), (3, vec![1., 2., 3., 4., 5., 6.]));
    assert!(
        t.strings("nope")
            .unwrap_err()
            .to_string()
            .contains("no column `nope`")
    );
    // A projection reads the named columns only: the vectors stay on disk.
    let meta = Table::read_columns(&p, &["n", "id"]).unwrap();
    assert_eq!(meta.column_names(), vec!["id", "n"]);
    assert_eq!(meta.strings("id").unwrap(), vec!["a", "b"]);
    assert_eq!(meta.i64s("n").unwrap(), vec![1, 2]);
    assert!(
        meta.vectors("v")
            .unwrap_err()
            .to_string()
            .contains("no column `v`")
    );
    std::fs::remove_dir_all(dir).unwrap();
}
