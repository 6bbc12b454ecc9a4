//! The `pipeline` CLI over toy stages: the engine's test fixture (its end-to-end tests and
//! benchmark run this binary), not a tool for users.
//!
//! Graph:  source ─► upper ─► slow ─┐
//!                 └► side ─────────┴► report
//!                    upper ─► train:<name> ─► score:<name>   (one pair per `[train.<name>]`)
//!         source ─► lens:<name>                                (one per `[lens.<name>]`)
//! `source` reads an external file (`[source] path`); `slow` writes `chunks` chunks with
//! `sleep_ms` between them (to be killed mid-write). Every stage that actually runs appends its
//! name to the file named by TOY_RUN_LOG, so tests count executions exactly, and `start NAME` /
//! `end NAME` lines to the file named by TOY_SPAN_LOG, so tests see whether two builds overlapped.
//! TOY_UPPER_VERSION overrides `upper`'s version constant (the "stage code changed" case).
//! Lenses of one `pass` share one pass ([`Stage::pass`]): a shared pass logs `pass NAME NAME…`.

use std::io::Write;
use std::path::PathBuf;

use pipeline::config::Config;
use pipeline::engine::error::Result;
use pipeline::engine::stage::{AnyStage, Reported, Role, Stage, StageContext, StageId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod lens;

use lens::Lens;

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

/// A toy adapter: what sweeps vary. `fail` makes it fail; `sleep_ms` makes it take time.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TrainParams {
    lr: f64,
    seed: u64,
    sleep_ms: u64,
    fail: bool,
}
impl Default for TrainParams {
    fn default() -> Self {
        Self {
            lr: 0.1,
            seed: 0,
            sleep_ms: 0,
            fail: false,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ScoreParams {
    scale: f64,
}
impl Default for ScoreParams {
    fn default() -> Self {
        Self { scale: 1.0 }
    }
}

/// `train:<name>` (section `[train.<name>]`) and `score:<name>` (section `[score]`).
struct Adapter {
    name: String,
    score: bool,
}

impl Stage for Adapter {
    type Params = serde_json::Value;

    fn name(&self) -> StageId {
        let family = if self.score { "score" } else { "train" };
        StageId::new(family, &self.name)
    }
    fn version(&self) -> u32 {
        1
    }
    fn section(&self) -> String {
        if self.score {
            "score".into()
        } else {
            format!("train.{}", self.name)
        }
    }
    fn inputs(&self) -> Vec<StageId> {
        if self.score {
            vec![StageId::new("train", &self.name)]
        } else {
            vec![StageId::single("upper")]
        }
    }
    fn defaults(&self) -> serde_json::Value {
        if self.score {
            serde_json::to_value(ScoreParams::default())
        } else {
            serde_json::to_value(TrainParams::default())
        }
        .expect("plain structs")
    }
    fn read_params(&self, config: &Config) -> Result<serde_json::Value> {
        let value = if self.score {
            serde_json::to_value(config.typed::<ScoreParams>(&self.section())?)
        } else {
            serde_json::to_value(config.typed::<TrainParams>(&self.section())?)
        };
        Ok(value.expect("plain structs"))
    }
    /// train: its `lr` as an alignment; score: its score as a performance.
    fn report(&self, dir: &std::path::Path) -> anyhow::Result<Vec<Reported>> {
        let (file, column, role) = if self.score {
            ("score.txt", "score", Role::Performance)
        } else {
            ("model.txt", "lr", Role::Alignment)
        };
        let text = std::fs::read_to_string(dir.join(file))?;
        let value = if self.score {
            text.trim().parse()?
        } else {
            text.split_whitespace()
                .find_map(|w| w.strip_prefix("lr="))
                .ok_or_else(|| anyhow::anyhow!("no lr= in {file}"))?
                .parse()?
        };
        Ok(vec![Reported {
            column: column.into(),
            value,
            role,
        }])
    }

    fn run(&self, ctx: &StageContext, params: &serde_json::Value) -> anyhow::Result<()> {
        let name = self.name().to_string();
        log_run(&name);
        append("TOY_SPAN_LOG", &format!("start {name}"));
        let result = if self.score {
            let p: ScoreParams = serde_json::from_value(params.clone())?;
            let model = read(ctx, &StageId::new("train", &self.name), "model.txt")?;
            std::fs::write(
                ctx.out_dir.join("score.txt"),
                format!("{}", model.len() as f64 * p.scale),
            )
            .map_err(Into::into)
        } else {
            let p: TrainParams = serde_json::from_value(params.clone())?;
            std::thread::sleep(std::time::Duration::from_millis(p.sleep_ms));
            if p.fail {
                Err(anyhow::anyhow!("failed on purpose (fail = true)"))
            } else {
                let text = read(ctx, "upper", "upper.txt")?;
                std::fs::write(
                    ctx.out_dir.join("model.txt"),
                    format!("{text} lr={} seed={}", p.lr, p.seed),
                )
                .map_err(Into::into)
            }
        };
        append("TOY_SPAN_LOG", &format!("end {name}"));
        result
    }
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
        // One write per line: builds running at once append to the same log.
        f.write_all(format!("{line}\n").as_bytes())
            .expect("run log");
    }
}

/// File `file` of input `input` (a toy stage of one name, or `train:<name>`).
fn read(ctx: &StageContext, input: impl Into<Input>, file: &str) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(
        ctx.input(&input.into().0)?.join(file),
    )?)
}

struct Input(StageId);

impl From<&str> for Input {
    fn from(single: &str) -> Input {
        Input(StageId::single(single))
    }
}

impl From<&StageId> for Input {
    fn from(id: &StageId) -> Input {
        Input(id.clone())
    }
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

    fn name(&self) -> StageId {
        StageId::single(self.name)
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
    fn inputs(&self) -> Vec<StageId> {
        self.inputs.iter().map(|s| StageId::single(s)).collect()
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

fn registry(config: &Config) -> Result<Vec<Box<dyn AnyStage>>> {
    let mut stages = toy_stages();
    for name in config.section("lens").keys() {
        stages.push(Box::new(Lens { name: name.clone() }));
    }
    for name in config.section("train").keys() {
        for score in [false, true] {
            stages.push(Box::new(Adapter {
                name: name.clone(),
                score,
            }));
        }
    }
    Ok(stages)
}

fn toy_stages() -> Vec<Box<dyn AnyStage>> {
    vec![
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
    ]
}

fn main() {
    std::process::exit(pipeline::cli::main(registry));
}
