//! `lens:<name>`: toy encoders whose builds share a pass ([`Stage::pass`]) when their `pass`
//! values are equal, as encoders reading one model file do.

use pipeline::engine::stage::{PassMember, Shard, Stage, StageContext, StageId};
use serde::{Deserialize, Serialize};

use crate::{log_run, read};

/// A toy encoder: the source's first `take` characters, upper-cased, tagged with its pass.
/// Lenses of one `pass` value are one pass (a model file read by several encoders); `fail`
/// makes the pass fail.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LensParams {
    pass: String,
    take: usize,
    fail: bool,
}
impl Default for LensParams {
    fn default() -> Self {
        Self {
            pass: "a".into(),
            take: 3,
            fail: false,
        }
    }
}

/// `lens:<name>` (section `[lens.<name>]`).
pub struct Lens {
    pub name: String,
}

impl Stage for Lens {
    type Params = LensParams;

    fn name(&self) -> StageId {
        StageId::new("lens", &self.name)
    }
    fn version(&self) -> u32 {
        1
    }
    fn section(&self) -> String {
        format!("lens.{}", self.name)
    }
    fn inputs(&self) -> Vec<StageId> {
        vec![StageId::single("source")]
    }
    fn defaults(&self) -> LensParams {
        LensParams::default()
    }
    fn pass(&self, params: &LensParams) -> Option<serde_json::Value> {
        Some(serde_json::json!({ "pass": params.pass, "fail": params.fail }))
    }
    fn run(&self, ctx: &StageContext, params: &LensParams) -> anyhow::Result<()> {
        log_run(&self.name().to_string());
        let text = lens_pass(ctx, params)?;
        write_lens(ctx, params, &text)
    }
    fn run_pass(&self, members: &[PassMember<Self>], _shard: Option<Shard>) -> anyhow::Result<()> {
        let names: Vec<String> = members.iter().map(|m| m.stage.name().to_string()).collect();
        log_run(&format!("pass {}", names.join(" ")));
        let text = lens_pass(members[0].ctx, members[0].params)?;
        for m in members {
            write_lens(m.ctx, m.params, &text)?;
        }
        Ok(())
    }
}

/// What the members of one pass compute once.
fn lens_pass(ctx: &StageContext, p: &LensParams) -> anyhow::Result<String> {
    if p.fail {
        anyhow::bail!("the pass failed on purpose (fail = true)");
    }
    Ok(read(ctx, "source", "copy.txt")?.to_uppercase())
}

fn write_lens(ctx: &StageContext, p: &LensParams, text: &str) -> anyhow::Result<()> {
    let taken: String = text.chars().take(p.take).collect();
    Ok(std::fs::write(
        ctx.out_dir.join("lens.txt"),
        format!("{taken} ({})", p.pass),
    )?)
}
