//! The `pipeline` CLI over toy stages, for the engine's end-to-end tests and benchmark.
//!
//! Graph:  source ─► upper ─► slow ─┐
//!                 └► side ─────────┴► report
//! `source` reads an external file (`[source] path`); `slow` writes `chunks` chunks with
//! `sleep_ms` between them (to be killed mid-write). Every stage that actually runs appends its
//! name to the file named by TOY_RUN_LOG, so tests count executions exactly. TOY_UPPER_VERSION
//! overrides `upper`'s version constant (the "stage code changed" case).

use std::io::Write;
use std::path::PathBuf;

use pipeline::config::Config;
use pipeline::engine::error::Result;
use pipeline::engine::stage::{Stage, StageContext};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SourceParams {
    path: String,
    trim: bool,
}
impl Default for SourceParams {
    fn default() -> Self {
        Self {
            path: "input.txt".into(),
            trim: false,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct UpperParams {
    suffix: String,
}
impl Default for UpperParams {
    fn default() -> Self {
        Self { suffix: "!".into() }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SideParams {
    repeat: usize,
}
impl Default for SideParams {
    fn default() -> Self {
        Self { repeat: 2 }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SlowParams {
    sleep_ms: u64,
    chunks: usize,
}
impl Default for SlowParams {
    fn default() -> Self {
        Self {
            sleep_ms: 0,
            chunks: 1,
        }
    }
}

#[derive(Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ReportParams {
    title: String,
}

fn log_run(name: &str) {
    if let Some(path) = std::env::var_os("TOY_RUN_LOG") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("run log");
        writeln!(f, "{name}").expect("run log");
    }
}

fn read(ctx: &StageContext, input: &str, file: &str) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(ctx.input(input)?.join(file))?)
}

struct Toy {
    name: &'static str,
    inputs: &'static [&'static str],
    params: fn(&Config, &str) -> Result<Value>,
    run: fn(&StageContext) -> anyhow::Result<()>,
}

fn typed<T: serde::de::DeserializeOwned + Serialize>(c: &Config, section: &str) -> Result<Value> {
    c.typed::<T>(section).map(|(_, v)| v)
}

impl Stage for Toy {
    fn name(&self) -> String {
        self.name.into()
    }
    fn version(&self) -> u32 {
        if self.name == "upper"
            && let Ok(v) = std::env::var("TOY_UPPER_VERSION")
        {
            return v.parse().expect("TOY_UPPER_VERSION is a number");
        }
        1
    }
    fn section(&self) -> String {
        self.name.into()
    }
    fn inputs(&self) -> Vec<String> {
        self.inputs.iter().map(|s| s.to_string()).collect()
    }
    fn params(&self, config: &Config) -> Result<Value> {
        (self.params)(config, self.name)
    }
    fn externals(&self, params: &Value, config: &Config) -> Result<Vec<PathBuf>> {
        Ok(match (self.name, params["path"].as_str()) {
            ("source", Some(p)) => vec![config.resolve(p)],
            _ => Vec::new(),
        })
    }
    fn run(&self, ctx: &StageContext) -> anyhow::Result<()> {
        log_run(self.name);
        (self.run)(ctx)
    }
}

fn registry(_config: &Config) -> Result<Vec<Box<dyn Stage>>> {
    Ok(vec![
        Box::new(Toy {
            name: "report",
            inputs: &["slow", "side"],
            params: typed::<ReportParams>,
            run: |ctx| {
                let p: ReportParams = ctx.params()?;
                let text = format!(
                    "{}\n{}\n{}",
                    p.title,
                    read(ctx, "slow", "big.txt")?.len(),
                    read(ctx, "side", "side.txt")?
                );
                Ok(std::fs::write(ctx.out_dir.join("report.txt"), text)?)
            },
        }),
        Box::new(Toy {
            name: "source",
            inputs: &[],
            params: typed::<SourceParams>,
            run: |ctx| {
                let p: SourceParams = ctx.params()?;
                let mut text = std::fs::read_to_string(ctx.root.join(&p.path))?;
                if p.trim {
                    text = text.trim().to_string();
                }
                Ok(std::fs::write(ctx.out_dir.join("copy.txt"), text)?)
            },
        }),
        Box::new(Toy {
            name: "upper",
            inputs: &["source"],
            params: typed::<UpperParams>,
            run: |ctx| {
                let p: UpperParams = ctx.params()?;
                let text = read(ctx, "source", "copy.txt")?.to_uppercase() + &p.suffix;
                Ok(std::fs::write(ctx.out_dir.join("upper.txt"), text)?)
            },
        }),
        Box::new(Toy {
            name: "side",
            inputs: &["source"],
            params: typed::<SideParams>,
            run: |ctx| {
                let p: SideParams = ctx.params()?;
                let text = read(ctx, "source", "copy.txt")?.repeat(p.repeat);
                Ok(std::fs::write(ctx.out_dir.join("side.txt"), text)?)
            },
        }),
        Box::new(Toy {
            name: "slow",
            inputs: &["upper"],
            params: typed::<SlowParams>,
            run: |ctx| {
                let p: SlowParams = ctx.params()?;
                let text = read(ctx, "upper", "upper.txt")?;
                std::fs::write(ctx.out_dir.join("started"), "")?;
                let mut f = std::fs::File::create(ctx.out_dir.join("big.txt"))?;
                for _ in 0..p.chunks {
                    f.write_all(text.repeat(1000).as_bytes())?;
                    f.flush()?;
                    std::thread::sleep(std::time::Duration::from_millis(p.sleep_ms));
                }
                Ok(())
            },
        }),
    ])
}

fn main() {
    std::process::exit(pipeline::cli::main(registry));
}
