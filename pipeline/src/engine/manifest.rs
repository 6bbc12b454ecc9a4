//! `manifest.json`: what an artifact says about itself. Written last, inside the temporary
//! folder, before the rename: a folder without a valid manifest is not an artifact.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const FILE_NAME: &str = "manifest.json";
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputFile {
    pub path: String,
    pub size: u64,
    pub blake3: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExternalFile {
    pub path: String,
    pub blake3: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub stage: String,
    pub key: String,
    pub stage_version: u32,
    pub tool_version: String,
    pub params: Value,
    /// Input node name → its key.
    pub inputs: BTreeMap<String, String>,
    pub externals: Vec<ExternalFile>,
    pub outputs: Vec<OutputFile>,
    /// RFC 3339 UTC.
    pub started: String,
    pub finished: String,
    pub wall_s: f64,
}

impl Manifest {
    /// Reads and checks a manifest; `None` if missing, unreadable or not for `stage`/`key`.
    pub fn read_valid(dir: &Path, stage: &str, key: &str) -> Option<Manifest> {
        let bytes = std::fs::read(dir.join(FILE_NAME)).ok()?;
        let m: Manifest = serde_json::from_slice(&bytes).ok()?;
        (m.format == FORMAT && m.stage == stage && m.key == key).then_some(m)
    }

    pub fn read(dir: &Path) -> Option<Manifest> {
        let bytes = std::fs::read(dir.join(FILE_NAME)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// Seconds since the epoch as RFC 3339 UTC (no time-zone database needed).
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:03}Z",
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_445_171_123);
        assert_eq!(rfc3339(t), "2026-11-23T14:46:11.123Z");
        assert_eq!(rfc3339(std::time::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}
