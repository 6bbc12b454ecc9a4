//! `pipeline.toml` never crashes the tool: seeded mutations of the shipped file (bytes flipped,
//! lines dropped or duplicated, values replaced by extreme or ill-typed ones) are read and the
//! stage graph built from them, and every one gives a graph or a configuration error. Runs for
//! `FUZZ_SECS` seconds (default 2).

use std::time::{Duration, Instant};

use pipeline::config::Config;
use pipeline::engine::graph::Graph;

use crate::common::repo;

/// A small deterministic generator (no dependency for one test).
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

const VALUES: [&str; 10] = [
    "-1",
    "0",
    "1e308",
    "-9223372036854775808",
    "18446744073709551616",
    "nan",
    "\"\"",
    "[]",
    "{}",
    "\"x\"",
];

fn mutate(text: &str, rng: &mut XorShift) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..1 + rng.below(3) {
        let i = rng.below(lines.len());
        match rng.below(5) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => {
                if let Some((k, _)) = lines[i].clone().split_once('=') {
                    lines[i] = format!("{k}= {}", VALUES[rng.below(VALUES.len())]);
                }
            }
            3 => {
                let mut bytes = lines[i].clone().into_bytes();
                if !bytes.is_empty() {
                    let j = rng.below(bytes.len());
                    bytes[j] = b"[]=\"'.#0"[rng.below(8)];
                }
                lines[i] = String::from_utf8_lossy(&bytes).to_string();
            }
            _ => {
                let keep = rng.below(lines[i].len() + 1);
                let cut: String = lines[i].chars().take(keep).collect();
                lines[i] = cut;
            }
        }
    }
    lines.join("\n")
}

#[test]
fn mutated_pipeline_toml_gives_a_graph_or_a_configuration_error() {
    let root = repo();
    let text = std::fs::read_to_string(root.join("pipeline.toml")).unwrap();
    let budget = std::env::var("FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    let start = Instant::now();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut cases, mut accepted) = (0usize, 0usize);
    while start.elapsed() < Duration::from_secs_f64(budget) || cases < 50 {
        let input = mutate(&text, &mut rng);
        let outcome = std::panic::catch_unwind(|| {
            let config = Config::from_str(&input, &root)?;
            let stages = pipeline::nodes::registry(&config)?;
            Graph::build(stages, &config).map(|_| ())
        });
        match outcome {
            Ok(Ok(())) => accepted += 1,
            Ok(Err(_)) => {}
            Err(_) => panic!("the configuration below crashed the tool:\n{input}"),
        }
        cases += 1;
    }
    eprintln!("fuzz pipeline.toml: {cases} inputs ({accepted} accepted), no panic");
}
