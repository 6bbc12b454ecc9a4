//! Dataset readers on real bytes: the embedded Tux Paint stamps, Flickr30k- and manifest-style
//! datasets built from them, every bad-record kind, and the probe sets (Fashion-MNIST, the
//! CIFAR-10 fixture). Needs `make setup`.

use std::path::{Path, PathBuf};

use stages::dataset::Split;
use stages::dataset::ingest::{IngestArtifact, ingest};
use stages::dataset::probe::{self, ProbeKind, ProbeSplit};
use stages::dataset::spec::{CaptionChoice, DatasetKind, DatasetSpec, OnBadRecord, SplitSource};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn stamps() -> PathBuf {
    let p = repo().join("data/datasets/tuxpaint");
    assert!(p.is_dir(), "run `make setup` first");
    p
}

fn stamp(rel: &str) -> PathBuf {
    stamps().join(rel)
}

#[test]
fn tuxpaint_default_is_captioned_split_and_stable() {
    let spec = DatasetSpec::default();
    let a = ingest(&spec, &repo()).unwrap();
    assert_eq!(a.rejected, vec![]);
    assert_eq!(
        a.summary.records, 701,
        "captioned stamps outside `symbols`, no mirrors, PNG over SVG"
    );
    assert_eq!(
        a.summary.images, 700,
        "people/ and military/ share one fireman stamp"
    );
    assert_eq!(a.summary.identical_images_merged.len(), 1);
    assert_eq!(a.summary.val_records, 175);
    assert!(
        a.records.iter().all(|r| !r.image_path.starts_with('/')),
        "paths relative to the repo"
    );
    assert!(
        a.records
            .iter()
            .all(|r| !r.image_id.starts_with("symbols/"))
    );
    assert!(
        a.records
            .iter()
            .all(|r| !r.image_id.ends_with("_mirror.png"))
    );
    let heron = a
        .records
        .iter()
        .find(|r| r.image_id.ends_with("animals/birds/adelaide-rosella.png"))
        .unwrap();
    assert_eq!(heron.caption, "An Adelaide Rosella.");
    // Same seed, same split; another seed, another split.
    let b = ingest(&spec, &repo()).unwrap();
    assert_eq!(a.records, b.records);
    let c = ingest(
        &DatasetSpec {
            seed: 7,
            ..spec.clone()
        },
        &repo(),
    )
    .unwrap();
    assert_ne!(
        a.records.iter().map(|r| r.split).collect::<Vec<_>>(),
        c.records.iter().map(|r| r.split).collect::<Vec<_>>()
    );
    // A translation line, and the cap.
    let fr = ingest(
        &DatasetSpec {
            language: "fr".into(),
            on_bad_record: OnBadRecord::Skip,
            num_samples: 50,
            ..spec
        },
        &repo(),
    )
    .unwrap();
    assert_eq!(fr.records.len(), 50);
    let rosella_fr = tuxpaint_caption("animals/birds/adelaide-rosella.txt", "fr.utf8=");
    if let Some(r) = fr
        .records
        .iter()
        .find(|r| r.image_id.ends_with("adelaide-rosella"))
    {
        assert_eq!(Some(r.caption.clone()), rosella_fr);
    }
}

fn tuxpaint_caption(rel: &str, prefix: &str) -> Option<String> {
    std::fs::read_to_string(stamp(rel))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(prefix).map(|s| s.trim().to_string()))
}

#[test]
fn svg_stamps_render_at_224_on_the_short_side() {
    let svg = stamp("food/fruit/cartoon/lemon.svg");
    let img = stages::image::decode::load_rgb(&svg).unwrap();
    assert!(
        img.width().min(img.height()) >= 224,
        "{}x{}",
        img.width(),
        img.height()
    );
    let coloured = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(
        coloured > 1000,
        "the lemon is drawn ({coloured} non-white pixels)"
    );
}

/// A dataset folder with one record of each kind, good and bad.
fn bad_records_manifest(dir: &Path) -> PathBuf {
    let good = std::fs::read(stamp("animals/amphibians/frog-1.png")).unwrap();
    std::fs::write(dir.join("good.png"), &good).unwrap();
    std::fs::write(dir.join("good2.png"), &good).unwrap();
    std::fs::write(dir.join("truncated.png"), &good[..good.len() / 3]).unwrap();
    std::fs::write(dir.join("empty.png"), b"").unwrap();
    std::fs::write(dir.join("notanimage.png"), b"hello, I am text").unwrap();
    std::fs::write(
        dir.join("zero.svg"),
        br#"<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"></svg>"#,
    )
    .unwrap();
    let mut csv = b"id,image,caption\n".to_vec();
    csv.extend_from_slice(b"ok,good.png,A frog.\n");
    csv.extend_from_slice(b"missing,nope.png,A ghost.\n");
    csv.extend_from_slice(b"trunc,truncated.png,Half a frog.\n");
    csv.extend_from_slice(b"empty-file,empty.png,Nothing.\n");
    csv.extend_from_slice(b"text,notanimage.png,Words.\n");
    csv.extend_from_slice(b"zero,zero.svg,A dot.\n");
    csv.extend_from_slice(b"nocaption,good2.png,\n");
    csv.extend_from_slice(b"latin1,good2.png,caf\xe9\n");
    csv.extend_from_slice(b"ok,good2.png,Another frog.\n");
    let path = dir.join("pairs.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn every_bad_record_kind_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = bad_records_manifest(dir.path());
    let spec = DatasetSpec {
        kind: DatasetKind::Manifest,
        path: manifest.display().to_string(),
        ..DatasetSpec::default()
    };
    let err = match ingest(&spec, dir.path()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("bad records must fail by default"),
    };
    assert!(err.contains("8 bad record(s)"), "{err}");
    for (file, reason) in [
        ("nope.png", "missing file"),
        ("truncated.png", "undecodable or truncated image"),
        ("empty.png", "empty file"),
        ("notanimage.png", "undecodable or truncated image"),
        ("zero.svg", "zero-size image"),
        ("good2.png", "empty caption"),
        ("good2.png", "caption is not UTF-8"),
        ("good2.png", "duplicate id `ok`"),
    ] {
        assert!(
            err.lines().any(|l| l.contains(file) && l.contains(reason)),
            "no line naming {file} with `{reason}` in:\n{err}"
        );
    }
    assert!(
        err.contains("on_bad_record = \"skip\""),
        "says how to go on: {err}"
    );

    let skip = ingest(
        &DatasetSpec {
            on_bad_record: OnBadRecord::Skip,
            ..spec
        },
        dir.path(),
    )
    .unwrap();
    assert_eq!(skip.records.len(), 1);
    assert_eq!(skip.records[0].caption, "A frog.");
    assert_eq!(skip.rejected.len(), 8);
    let artifact = IngestArtifact::at(dir.path());
    artifact.write(&skip).unwrap();
    let rejected = stages::table::Table::read(&artifact.rejected()).unwrap();
    assert_eq!(
        rejected.num_rows(),
        8,
        "rejected records are listed in the artifact"
    );
}

fn flickr_folder(dir: &Path) -> PathBuf {
    let images = dir.join("flickr30k_images");
    std::fs::create_dir_all(&images).unwrap();
    for (i, rel) in [
        "animals/amphibians/frog-1.png",
        "animals/mammals/badger.png",
        "animals/mammals/camel/camel.png",
    ]
    .iter()
    .enumerate()
    {
        let img = stages::image::decode::load_rgb(&stamp(rel)).unwrap();
        img.save(images.join(format!("{}.jpg", 1000 + i))).unwrap();
    }
    images
}

#[test]
fn flickr30k_results_csv_and_karpathy_json() {
    let dir = tempfile::tempdir().unwrap();
    let images = flickr_folder(dir.path());
    let csv = "image_name| comment_number| comment\n\
               1000.jpg| 0| A frog.\n1000.jpg| 1| A green frog sits on a leaf.\n1000.jpg| 2| Frog.\n\
               1001.jpg| 0| A badger walks.\n1001.jpg| 1| A badger.\n\
               1002.jpg| 0| A camel in the desert.\n1002.jpg| 1| Camel.\n";
    std::fs::write(dir.path().join("results.csv"), csv).unwrap();
    let base = DatasetSpec {
        kind: DatasetKind::Flickr30k,
        path: images.display().to_string(),
        val_fraction: 1.0 / 3.0,
        ..DatasetSpec::default()
    };
    let longest = ingest(&base, dir.path()).unwrap();
    let caps: Vec<&str> = longest.records.iter().map(|r| r.caption.as_str()).collect();
    assert_eq!(
        caps,
        [
            "A green frog sits on a leaf.",
            "A badger walks.",
            "A camel in the desert."
        ]
    );
    assert_eq!(
        longest
            .records
            .iter()
            .filter(|r| r.split == Split::Val)
            .count(),
        1
    );
    let first = ingest(
        &DatasetSpec {
            caption_choice: CaptionChoice::First,
            ..base.clone()
        },
        dir.path(),
    )
    .unwrap();
    assert_eq!(first.records[0].caption, "A frog.");
    let all = ingest(
        &DatasetSpec {
            caption_choice: CaptionChoice::All,
            captions_per_image: 2,
            ..base.clone()
        },
        dir.path(),
    )
    .unwrap();
    assert_eq!(all.records.len(), 6);
    assert_eq!(all.records[1].id, "1000.jpg#1");
    for img in ["1000.jpg", "1001.jpg", "1002.jpg"] {
        let splits: std::collections::BTreeSet<_> = all
            .records
            .iter()
            .filter(|r| r.image_id == img)
            .map(|r| r.split)
            .collect();
        assert_eq!(
            splits.len(),
            1,
            "captions of image {img} never straddle splits"
        );
    }

    std::fs::remove_file(dir.path().join("results.csv")).unwrap();
    let json = r#"{"images": [
        {"filename": "1000.jpg", "sentences": [{"raw": "A frog."}, {"raw": "A green frog sits on a leaf."}]},
        {"filename": "1001.jpg", "sentences": [{"raw": "A badger."}]},
        {"filename": "1002.jpg", "sentences": [{"raw": "Camel."}]}]}"#;
    std::fs::write(dir.path().join("dataset_flickr30k.json"), json).unwrap();
    let k = ingest(&base, dir.path()).unwrap();
    assert_eq!(k.records[0].caption, "A green frog sits on a leaf.");
    assert_eq!(k.records.len(), 3);
}

#[test]
fn parquet_manifest_with_relative_paths() {
    let dir = tempfile::tempdir().unwrap();
    let images = flickr_folder(dir.path());
    let rel: Vec<String> = ["1000.jpg", "1001.jpg"]
        .iter()
        .map(|f| format!("flickr30k_images/{f}"))
        .collect();
    let _ = images;
    stages::table::write(
        &dir.path().join("pairs.parquet"),
        vec![
            ("path", stages::table::Column::Str(rel)),
            (
                "text",
                stages::table::Column::Str(vec!["A frog.".into(), "A badger.".into()]),
            ),
        ],
    )
    .unwrap();
    let spec = DatasetSpec {
        kind: DatasetKind::Manifest,
        path: "pairs.parquet".into(),
        image_column: "path".into(),
        caption_column: "text".into(),
        val_fraction: 0.5,
        ..DatasetSpec::default()
    };
    let got = ingest(&spec, dir.path()).unwrap();
    assert_eq!(got.records.len(), 2);
    assert_eq!(got.records[1].caption, "A badger.");
    assert_eq!(got.records[0].image_path, "flickr30k_images/1000.jpg");
    let wrong = DatasetSpec {
        caption_column: "caption".into(),
        ..spec
    };
    let err = ingest(&wrong, dir.path()).err().unwrap().to_string();
    assert!(
        err.contains("pairs.parquet")
            && err.contains("no column `caption`")
            && err.contains("path, text"),
        "{err}"
    );
}

#[test]
fn fashion_mnist_matches_numpy() {
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("stages/tests/golden/probe.json")).unwrap(),
    )
    .unwrap();
    let dir = repo().join("data/datasets/fashion-mnist");
    for (split, key) in [(ProbeSplit::Train, "train"), (ProbeSplit::Test, "test")] {
        let g = &golden["fashion_mnist"][key];
        let set = probe::read(ProbeKind::FashionMnist, &dir, split, 0).unwrap();
        assert_eq!(set.labels.len() as u64, g["count"].as_u64().unwrap());
        let mut counts = vec![0u64; 10];
        for l in &set.labels {
            counts[*l as usize] += 1;
        }
        assert_eq!(serde_json::json!(counts), g["class_counts"]);
        assert_eq!(serde_json::json!(set.labels[..5]), g["first_labels"]);
        for i in 0..5 {
            let sum: u64 = set.images[i].pixels().map(|p| u64::from(p.0[0])).sum();
            assert_eq!(sum, g["pixel_sums"][i].as_u64().unwrap(), "{key} image {i}");
            assert!(
                set.images[i]
                    .pixels()
                    .all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]),
                "grey replicated"
            );
        }
        assert_eq!(
            u64::from(set.images[0].get_pixel(13, 7).0[0]),
            g["pixel_7_13_of_0"].as_u64().unwrap()
        );
    }
    let capped = probe::read(ProbeKind::FashionMnist, &dir, ProbeSplit::Test, 100).unwrap();
    assert_eq!(capped.images.len(), 100);
}

#[test]
fn cifar10_fixture_holds_foolbox_images() {
    let dir = repo().join("data/datasets/cifar10-fixture");
    let set = probe::read(ProbeKind::Cifar10, &dir, ProbeSplit::Test, 0).unwrap();
    assert_eq!(set.images.len(), 20);
    assert_eq!(set.classes[3], "cat");
    let site = stages::paths::site_packages(&repo())
        .unwrap()
        .join("foolbox/data");
    for (i, (img, label)) in set.images.iter().zip(&set.labels).enumerate() {
        let png = site.join(format!("cifar10_{i:02}_{label}.png"));
        let want = image::open(&png)
            .unwrap_or_else(|e| panic!("{}: {e}", png.display()))
            .to_rgb8();
        assert_eq!(img, &want, "record {i} equals {}", png.display());
    }
    // A truncated batch is an error that names the file.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("test_batch.bin"), vec![0u8; 3000]).unwrap();
    let err = probe::read(ProbeKind::Cifar10, tmp.path(), ProbeSplit::Test, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("test_batch.bin") && err.contains("3073-byte"),
        "{err}"
    );
}

/// A CSV manifest of `(image, caption)` rows in `dir`.
fn manifest(dir: &Path, rows: &[(&str, &str)]) -> DatasetSpec {
    let mut csv = String::from("image,caption\n");
    for (image, caption) in rows {
        csv.push_str(&format!("{image},{caption}\n"));
    }
    let path = dir.join("pairs.csv");
    std::fs::write(&path, csv).unwrap();
    DatasetSpec {
        kind: DatasetKind::Manifest,
        path: path.display().to_string(),
        val_fraction: 0.0,
        ..DatasetSpec::default()
    }
}

#[test]
fn two_files_whose_paths_differ_only_by_extension_are_two_images() {
    let dir = tempfile::tempdir().unwrap();
    let frog = stages::image::decode::load_rgb(&stamp("animals/amphibians/frog-1.png")).unwrap();
    let badger = stages::image::decode::load_rgb(&stamp("animals/mammals/badger.png")).unwrap();
    frog.save(dir.path().join("cat.png")).unwrap();
    badger.save(dir.path().join("cat.jpg")).unwrap();
    let spec = manifest(
        dir.path(),
        &[("cat.png", "A frog."), ("cat.jpg", "A badger.")],
    );
    let out = ingest(&spec, dir.path()).unwrap();
    assert_eq!(out.summary.images, 2, "two pictures, two images");
    let ids: Vec<&str> = out.records.iter().map(|r| r.image_id.as_str()).collect();
    assert_eq!(ids, ["cat.png", "cat.jpg"]);
    assert_ne!(out.records[0].image_blake3, out.records[1].image_blake3);
    assert!(out.summary.identical_images_merged.is_empty());
}

#[test]
fn byte_identical_files_under_two_paths_are_one_image_with_both_captions() {
    let dir = tempfile::tempdir().unwrap();
    let frog = stamp("animals/amphibians/frog-1.png");
    std::fs::copy(&frog, dir.path().join("a.png")).unwrap();
    std::fs::copy(&frog, dir.path().join("b.png")).unwrap();
    let badger = stamp("animals/mammals/badger.png");
    std::fs::copy(&badger, dir.path().join("c.png")).unwrap();
    let spec = manifest(
        dir.path(),
        &[
            ("b.png", "A frog on a leaf."),
            ("a.png", "A frog."),
            ("c.png", "A badger."),
        ],
    );
    let out = ingest(&spec, dir.path()).unwrap();
    assert_eq!(out.summary.records, 3, "both captions are kept");
    assert_eq!(
        out.summary.images, 2,
        "one image for the two identical files"
    );
    let of = |caption: &str| {
        out.records
            .iter()
            .find(|r| r.caption == caption)
            .unwrap()
            .clone()
    };
    let (a, b) = (of("A frog."), of("A frog on a leaf."));
    assert_eq!(
        (a.image_id.as_str(), b.image_id.as_str()),
        ("a.png", "a.png")
    );
    assert_eq!(a.image_path, b.image_path);
    assert_eq!(a.split, b.split, "one image's captions share a split");
    assert_eq!(
        out.summary.identical_images_merged.len(),
        1,
        "the summary says what was merged"
    );
    assert!(
        out.summary.identical_images_merged[0]
            .path
            .ends_with("b.png")
    );
    assert!(
        out.summary.identical_images_merged[0]
            .same_as
            .ends_with("a.png")
    );
}

/// A PNG whose header declares `w` x `h` RGB pixels (its data is a stub: the decoder refuses it
/// from the header alone).
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend(kind);
        c.extend(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        c.extend(crc.sum().to_be_bytes());
        c
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[test]
fn an_oversized_image_is_named_with_its_size_and_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("huge.png"), png_header_only(30_000, 30_000)).unwrap();
    std::fs::copy(
        stamp("animals/amphibians/frog-1.png"),
        dir.path().join("frog.png"),
    )
    .unwrap();
    let spec = DatasetSpec {
        on_bad_record: OnBadRecord::Skip,
        ..manifest(
            dir.path(),
            &[("huge.png", "Huge."), ("frog.png", "A frog.")],
        )
    };
    let clock = std::time::Instant::now();
    let out = ingest(&spec, dir.path()).unwrap();
    assert_eq!(out.records.len(), 1);
    let reason = &out.rejected[0].reason;
    assert_eq!(
        reason,
        "image too large to decode: 30000 x 30000 pixels need 3434 MiB, over the limit of 512 MiB"
    );
    assert!(
        clock.elapsed() < std::time::Duration::from_secs(5),
        "refused from its header"
    );
}

/// Karpathy's JSON `split` is the dataset's own split (restval is train), honoured by default;
/// `split_source = "seeded"` ignores it; an unknown split name is refused naming the image.
#[test]
fn karpathy_json_splits_are_the_datasets_own() {
    let dir = tempfile::tempdir().unwrap();
    let images = flickr_folder(dir.path());
    let json = r#"{"images": [
        {"filename": "1000.jpg", "split": "train", "sentences": [{"raw": "A frog."}, {"raw": "A green frog."}]},
        {"filename": "1001.jpg", "split": "restval", "sentences": [{"raw": "A badger."}]},
        {"filename": "1002.jpg", "split": "test", "sentences": [{"raw": "Camel."}, {"raw": "A camel in the desert."}]}]}"#;
    std::fs::write(dir.path().join("dataset_flickr30k.json"), json).unwrap();
    let base = DatasetSpec {
        kind: DatasetKind::Flickr30k,
        path: images.display().to_string(),
        caption_choice: CaptionChoice::All,
        ..DatasetSpec::default()
    };
    let own = ingest(&base, dir.path()).unwrap();
    let split_of = |records: &[stages::dataset::Record], id: &str| {
        records.iter().find(|r| r.id == id).unwrap().split
    };
    assert_eq!(split_of(&own.records, "1000.jpg#1"), Split::Train);
    assert_eq!(
        split_of(&own.records, "1001.jpg#0"),
        Split::Train,
        "restval"
    );
    assert_eq!(split_of(&own.records, "1002.jpg#0"), Split::Test);
    assert_eq!(split_of(&own.records, "1002.jpg#1"), Split::Test);
    assert!(own.summary.dataset_split);
    assert_eq!(
        (
            own.summary.train_records,
            own.summary.val_records,
            own.summary.test_records
        ),
        (3, 0, 2)
    );
    // The summary of a seeded split is the file it always was: no test count, no flag.
    let seeded = ingest(
        &DatasetSpec {
            split_source: SplitSource::Seeded,
            val_fraction: 1.0 / 3.0,
            ..base.clone()
        },
        dir.path(),
    )
    .unwrap();
    assert!(!seeded.summary.dataset_split);
    assert!(seeded.records.iter().all(|r| r.split != Split::Test));
    let out = tempfile::tempdir().unwrap();
    IngestArtifact::at(out.path()).write(&seeded).unwrap();
    let text = std::fs::read_to_string(IngestArtifact::at(out.path()).summary()).unwrap();
    assert!(
        !text.contains("test_records") && !text.contains("dataset_split"),
        "{text}"
    );

    std::fs::write(
        dir.path().join("dataset_flickr30k.json"),
        json.replace("\"test\"", "\"testing\""),
    )
    .unwrap();
    let err = ingest(&base, dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("images[2] (1002.jpg)") && err.contains("split \"testing\""),
        "{err}"
    );
}

/// A manifest's `split` column: every row's value is checked (the line is named), one image's
/// rows must agree, and `split_source = "dataset"` refuses a dataset that gives none.
#[test]
fn a_manifest_split_column_is_honoured_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    for (name, rel) in [
        ("a.png", "animals/amphibians/frog-1.png"),
        ("b.png", "animals/mammals/badger.png"),
        ("c.png", "animals/mammals/camel/camel.png"),
    ] {
        std::fs::copy(stamp(rel), dir.path().join(name)).unwrap();
    }
    let write = |body: &str| {
        let path = dir.path().join("pairs.csv");
        std::fs::write(&path, format!("image,caption,split\n{body}")).unwrap();
        DatasetSpec {
            kind: DatasetKind::Manifest,
            path: path.display().to_string(),
            ..DatasetSpec::default()
        }
    };
    let spec =
        write("a.png,A frog.,train\nb.png,A badger.,val\nc.png,A camel.,test\nc.png,Camel.,test\n");
    let out = ingest(&spec, dir.path()).unwrap();
    let splits: Vec<Split> = out.records.iter().map(|r| r.split).collect();
    assert_eq!(splits, [Split::Train, Split::Val, Split::Test, Split::Test]);
    assert_eq!(out.summary.test_records, 2);

    let spec = write("a.png,A frog.,train\nb.png,A badger.,holdout\n");
    let err = ingest(&spec, dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("line 3: split `holdout`: expected `train`, `val` or `test`"),
        "{err}"
    );
    let spec = write("a.png,A frog.,train\na.png,Frog.,test\n");
    let err = ingest(&spec, dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("image a.png is in two splits: `row-0` says train, `row-1` says test"),
        "{err}"
    );
    // Byte-identical files the dataset put in two splits stay two images.
    std::fs::copy(dir.path().join("a.png"), dir.path().join("a2.png")).unwrap();
    let spec = write("a.png,A frog.,train\na2.png,A frog again.,test\n");
    let out = ingest(&spec, dir.path()).unwrap();
    assert_eq!(out.summary.images, 2);
    assert!(out.summary.identical_images_merged.is_empty());

    let plain = manifest(dir.path(), &[("a.png", "A frog."), ("b.png", "A badger.")]);
    let err = ingest(
        &DatasetSpec {
            split_source: SplitSource::Dataset,
            ..plain
        },
        dir.path(),
    )
    .err()
    .expect("refused")
    .to_string();
    assert!(
        err.contains("split_source = \"dataset\", but the dataset gives no split"),
        "{err}"
    );
}
