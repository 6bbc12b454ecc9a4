//! A real browser for the report test: Debian's headless Chromium (installed by `make test` /
//! `.ci/run`). The page is loaded in an iframe of a small check page (file access allowed
//! between local files for this run only), whose script lists every image that did not load
//! (naturalWidth 0) and every section id; `--dump-dom` prints the result. Console messages
//! are logged to stderr (`--enable-logging=stderr`) and returned as errors. A second run takes
//! a screenshot of the page itself.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct PageCheck {
    pub images: usize,
    pub broken: Vec<String>,
    pub sections: Vec<String>,
    pub console: Vec<String>,
}

pub fn chromium() -> PathBuf {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
        {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !p.is_empty() {
                return PathBuf::from(p);
            }
        }
    }
    panic!(
        "no Chromium: `make test` installs Debian's chromium (as root: apt-get install chromium)"
    );
}

fn flags(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

const CHECK: &str = r#"<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="page" src="PAGE" style="width:1400px;height:900px"></iframe>
<script>
document.getElementById('page').addEventListener('load', function () {
  var d = this.contentDocument;
  var imgs = Array.from(d.images);
  document.getElementById('result').textContent = JSON.stringify({
    images: imgs.length,
    broken: imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                .map(function (i) { return i.getAttribute('src'); }),
    sections: Array.from(d.querySelectorAll('section[id]')).map(function (s) { return s.id; })
  });
});
</script></body></html>"#;

/// Loads `index` in headless Chromium; writes a screenshot to `screenshot`.
pub fn check_page(index: &Path, screenshot: &Path) -> PageCheck {
    let work = tempfile::tempdir().unwrap();
    let check = work.path().join("check.html");
    std::fs::write(
        &check,
        CHECK.replace("PAGE", &format!("file://{}", index.display())),
    )
    .unwrap();
    let out = Command::new(chromium())
        .args(flags(&work.path().join("profile-check")))
        .args([
            "--allow-file-access-from-files",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", check.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let result = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_else(|| panic!("no result in the dumped DOM:\n{dom}\n{stderr}"))
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let v: serde_json::Value = serde_json::from_str(&result)
        .unwrap_or_else(|e| panic!("check result `{result}`: {e}\n{stderr}"));
    let strings = |k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap_or("").to_string())
            .collect()
    };
    let console = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") && !l.contains("check.html"))
        .map(String::from)
        .collect();
    if let Some(dir) = screenshot.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let shot = Command::new(chromium())
        .args(flags(&work.path().join("profile-shot")))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--window-size=1400,6000")
        .arg(format!("file://{}", index.display()))
        .output()
        .unwrap();
    assert!(
        screenshot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    PageCheck {
        images: v["images"].as_u64().unwrap() as usize,
        broken: strings("broken"),
        sections: strings("sections"),
        console,
    }
}
