//! The one font the PNG figures draw text with, registered with plotters once per process.
//! It comes from the Debian package `make setup` unpacks into data/fonts (DejaVu Sans): figures
//! never depend on which fonts a machine happens to have.

use std::path::Path;
use std::sync::OnceLock;

use plotters::style::FontStyle;

use crate::error::{Error, Result};

/// The family name figures ask for.
pub const FAMILY: &str = "sans-serif";

static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();

/// Registers `regular` (and `bold` when present) as [`FAMILY`]. Later calls keep the first font.
pub fn register(regular: &Path, bold: Option<&Path>) -> Result<()> {
    let outcome = REGISTERED.get_or_init(|| {
        let load = |p: &Path, style: FontStyle| -> std::result::Result<(), String> {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            // plotters keeps fonts for the life of the process; leaking once is that lifetime.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font(FAMILY, style, bytes)
                .map_err(|_| format!("{}: not a TrueType/OpenType font", p.display()))
        };
        load(regular, FontStyle::Normal)?;
        if let Some(b) = bold {
            load(b, FontStyle::Bold)?;
        }
        Ok(())
    });
    outcome.clone().map_err(|message| Error::Invalid {
        what: "report font".into(),
        message: format!("{message} (run `make setup`, which installs data/fonts)"),
    })
}
