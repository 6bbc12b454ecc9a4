//! The `pipeline` CLI over toy stages: the engine's test fixture (its end-to-end tests and
//! benchmark run this binary), not a tool for users.
//!
//! Graph:  source ─► upper ─► slow ─┐
//!                 └► side ─────────┴► report
//! `source` reads an external file (`[source] path`); `slow` writes `chunks` chunks with
//! `sleep_ms` between them (to be killed mid-write). Every stage that actually runs appends its
//! name to the file named by TOY_RUN_LOG, so tests count executions exactly, and `start NAME` /
//! `end NAME` lines to the file named by TOY_SPAN_LOG, so tests see whether two builds overlapped.
//! TOY_UPPER_VERSION overrides `upper`'s version constant (the "stage code changed" case).

use std::io::Write;
use std::path::PathBuf;

use pipeline::config::Config;
use pipeline::engine::error::Result;
use pipeline::engine::stage::{AnyStage, Stage, StageContext};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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
    append("TOY_RUN_LOG", name);
}

fn append(var: &str, line: &str) {
    if let Some(path) = std::env::var_os(var) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("run log");
        writeln!(f, "{line}").expect("run log");
    }
}

fn read(ctx: &StageContext, input: &str, file: &str) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(ctx.input(input)?.join(file))?)
}

struct Toy<P> {
    name: &'static str,
    inputs: &'static [&'static str],
    run: fn(&StageContext, &P) -> anyhow::Result<()>,
    externals: fn(&P, &Config) -> Vec<PathBuf>,
}

fn no_externals<P>(_: &P, _: &Config) -> Vec<PathBuf> {
    Vec::new()
}

impl<P> Stage for Toy<P>
where
    P: Serialize + DeserializeOwned + Default + Send + Sync + 'static,
{
    type Params = P;

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
    fn defaults(&self) -> P {
        P::default()
    }
    fn externals(&self, params: &P, config: &Config) -> Result<Vec<PathBuf>> {
        Ok((self.externals)(params, config))
    }
    fn run(&self, ctx: &StageContext, params: &P) -> anyhow::Result<()> {
        log_run(self.name);
        append("TOY_SPAN_LOG", &format!("start {}", self.name));
        let result = (self.run)(ctx, params);
        append("TOY_SPAN_LOG", &format!("end {}", self.name));
        result
    }
}

fn registry(_config: &Config) -> Result<Vec<Box<dyn AnyStage>>> {
    Ok(vec![
        Box::new(Toy::<ReportParams> {
            name: "report",
            inputs: &["slow", "side"],
            externals: no_externals,
            run: |ctx, p| {
                let text = format!(
                    "{}\n{}\n{}",
                    p.title,
                    read(ctx, "slow", "big.txt")?.len(),
                    read(ctx, "side", "side.txt")?
                );
                Ok(std::fs::write(ctx.out_dir.join("report.txt"), text)?)
            },
        }),
        Box::new(Toy::<SourceParams> {
            name: "source",
            inputs: &[],
            externals: |p, config| vec![config.resolve(&p.path)],
            run: |ctx, p| {
                let mut text = std::fs::read_to_string(ctx.root.join(&p.path))?;
                if p.trim {
                    text = text.trim().to_string();
                }
                Ok(std::fs::write(ctx.out_dir.join("copy.txt"), text)?)
            },
        }),
        Box::new(Toy::<UpperParams> {
            name: "upper",
            inputs: &["source"],
            externals: no_externals,
            run: |ctx, p| {
                let text = read(ctx, "source", "copy.txt")?.to_uppercase() + &p.suffix;
                Ok(std::fs::write(ctx.out_dir.join("upper.txt"), text)?)
            },
        }),
        Box::new(Toy::<SideParams> {
            name: "side",
            inputs: &["source"],
            externals: no_externals,
            run: |ctx, p| {
                let text = read(ctx, "source", "copy.txt")?.repeat(p.repeat);
                Ok(std::fs::write(ctx.out_dir.join("side.txt"), text)?)
            },
        }),
        Box::new(Toy::<SlowParams> {
            name: "slow",
            inputs: &["upper"],
            externals: no_externals,
            run: |ctx, p| {
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
