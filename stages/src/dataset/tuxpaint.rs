//! The embedded default: Tux Paint stamps (Debian `tuxpaint-stamps-default`).
//!
//! Layout: `<category>/.../<stem>.png|.svg` with `<stem>.txt`, whose first line is an English
//! caption ("A great blue heron.") and later lines translations (`fr.utf8=Un grand héron.`).
//! Rules:
//! - one record per stamp; when a stamp ships both a PNG and an SVG, the PNG is used;
//! - `<stem>_mirror.png` files are left out: they are mirrored copies of another stamp that
//!   Tux Paint shows when the user flips it, and carry no caption of their own;
//! - top-level categories in `exclude_categories` are left out (default `symbols`: letters,
//!   coins, sign language, whose captions describe glyphs rather than scenes);
//! - the image id is the path without extension (`animals/birds/heron`).

use std::path::{Path, PathBuf};

use crate::dataset::record::Candidate;
use crate::error::{Error, Result};

pub fn read(root: &Path, language: &str, exclude: &[String]) -> Result<Vec<Candidate>> {
    if !root.is_dir() {
        return Err(Error::io(
            root,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "dataset folder not found (run `make setup`)",
            ),
        ));
    }
    let mut images = Vec::new();
    walk(root, &mut images)?;
    images.sort();
    let mut out = Vec::new();
    for path in images {
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let category = rel
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .unwrap_or_default();
        if exclude.contains(&category) {
            continue;
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let stem_path = path.with_extension("");
        let stem = stem_path
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        if ext == "png" && stem.ends_with("_mirror") {
            continue;
        }
        if ext == "svg" && stem_path.with_extension("png").exists() {
            continue;
        }
        // The path with its extension: two files are two images (`cat.png`, `cat.jpg`).
        let image_id = rel.to_string_lossy().to_string();
        let caption = read_caption(&stem_path.with_extension("txt"), language);
        out.push(Candidate {
            id: image_id.clone(),
            image_id,
            image_path: path,
            caption,
            // Tux Paint has no split of its own: ingest's seeded one applies.
            split: None,
        });
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("png" | "svg")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// The caption in `language` from a stamp's .txt, or why there is none.
pub fn read_caption(txt: &Path, language: &str) -> Result<String, String> {
    let bytes = std::fs::read(txt).map_err(|e| format!("caption file {}: {e}", txt.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "caption file {} is not UTF-8 (invalid byte at offset {})",
            txt.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let mut lines = text.lines();
    if language == "en" {
        return Ok(lines.next().unwrap_or("").trim().to_string());
    }
    let prefix = format!("{language}.utf8=");
    lines
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|c| c.trim().to_string())
        .ok_or_else(|| format!("caption file {} has no `{prefix}` line", txt.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_first_line_or_translation() {
        let dir = tempfile_dir();
        let txt = dir.join("heron.txt");
        std::fs::write(&txt, "A great blue heron.\nfr.utf8=Un grand héron bleu.\n").unwrap();
        assert_eq!(read_caption(&txt, "en").unwrap(), "A great blue heron.");
        assert_eq!(read_caption(&txt, "fr").unwrap(), "Un grand héron bleu.");
        assert!(
            read_caption(&txt, "de")
                .unwrap_err()
                .contains("no `de.utf8=` line")
        );
        std::fs::write(&txt, b"caf\xe9\n").unwrap();
        assert!(read_caption(&txt, "en").unwrap_err().contains("not UTF-8"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("tuxpaint-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
