//! Helpers shared by the `make bench` examples (`mod common;` in each). Not every example uses
//! every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stages::features::EncoderSpec;

/// The repository root (the examples run from anywhere).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("stages/ sits in the repository root")
        .to_path_buf()
}

/// An embedded encoder spec with its model and tokenizer paths made absolute.
pub fn absolute(mut s: EncoderSpec) -> EncoderSpec {
    s.onnx = repo().join(&s.onnx).display().to_string();
    if !s.tokenizer.is_empty() {
        s.tokenizer = repo().join(&s.tokenizer).display().to_string();
    }
    s
}

/// This process's peak resident memory (VmHWM), in MiB; NaN where /proc is not readable.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}
