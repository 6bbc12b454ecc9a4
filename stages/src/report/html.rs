//! Small HTML helpers: escaping, tables, figures. The page is static, self-contained (relative
//! paths only) and has no scripts.

use std::fmt::Write;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A number for a table cell: 3 decimals, or "–" when not finite.
pub fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// A table with a header row; cells are HTML already (escape text before).
pub fn table(header: &[&str], rows: &[Vec<String>], class: &str) -> String {
    let mut s = format!("<table class=\"{class}\"><thead><tr>");
    for h in header {
        let _ = write!(s, "<th>{}</th>", escape(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{c}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// A PNG figure linking to its SVG twin.
pub fn figure(stem: &str, alt: &str, caption: &str) -> String {
    use crate::report::artifact::FIG;
    format!(
        "<figure><a href=\"{FIG}/{stem}.svg\"><img src=\"{FIG}/{stem}.png\" alt=\"{}\"></a>\
         <figcaption>{caption} <a href=\"{FIG}/{stem}.svg\">SVG</a></figcaption></figure>",
        escape(alt)
    )
}

pub const STYLE: &str = "
body { font-family: DejaVu Sans, Verdana, sans-serif; margin: 24px auto; max-width: 1500px; color: #222; line-height: 1.4; padding: 0 16px; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 36px; }
.sub { color: #666; margin-top: 4px; }
.side { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 20px; }
figure { margin: 8px 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
table { border-collapse: collapse; font-size: 0.85em; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
.supported { background: #dff0d8; } .contradicted { background: #f2dede; } .inconclusive { background: #fcf8e3; }
.note { background: #f7f7fb; border-left: 4px solid #99c; padding: 8px 12px; font-size: 0.92em; }
.examples { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 14px; }
.example { border: 1px solid #ddd; padding: 8px; } .example img { width: 96px; height: 96px; object-fit: contain; float: left; margin-right: 10px; }
.example ol { margin: 4px 0 4px 0; padding-left: 18px; clear: left; } .hit { font-weight: bold; color: #2a7a2a; }
code, pre { background: #f4f4f4; } pre { padding: 8px; overflow-x: auto; font-size: 0.8em; }
";
