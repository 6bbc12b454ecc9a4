//! `compare:<sweep>`: the stage that reads every member's results and writes the sweep's tables
//! (stages::compare). Its inputs are the members' target artifacts, named
//! `<stage>@<member>` (`align:linear@3`); each is read through its own stage's
//! [`Stage::report`](crate::engine::stage::Stage::report), so the file layouts stay with their
//! owners and this stage works for any experiment.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use stages::compare::{self, Axis, Column, Members, Resampling, Value};

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{AnyStage, Stage, StageContext, StageId};
use crate::sweep::{Member, Sweep};

/// Sweep `sweep`'s compare stage.
pub fn stage_id(sweep: &str) -> StageId {
    StageId::new("compare", sweep)
}

/// What the tables depend on besides the members' artifacts: the members' values (they become
/// columns) and the correlations' resampling; the page also on the report's fonts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareParams {
    pub axes: Vec<String>,
    /// Per member: its index and its values in axis order.
    pub members: Vec<(u32, Vec<serde_json::Value>)>,
    pub resampling: Resampling,
    /// `[report] font` and `font_bold`: the page's figures are drawn as the report's are.
    pub font: String,
    pub font_bold: String,
}

/// One member's target stage, as the compare stage reads it.
pub struct Target {
    /// The input: the target stage at the member (`align:linear@3`).
    pub input: StageId,
    /// The family (`align`, `probe`, `train`): the prefix of its columns.
    pub family: String,
    pub member: usize,
    pub stage: Box<dyn AnyStage>,
}

pub struct CompareNode {
    sweep: String,
    params: CompareParams,
    targets: Vec<Target>,
}

impl CompareNode {
    /// The compare stage of `sweep` over `members`, each with its target stages (from the
    /// member's own registry, so that each reads its artifact as its stage wrote it); its page
    /// is drawn with `fonts` (regular, bold).
    pub fn new(
        sweep: &Sweep,
        members: Vec<(Member, Vec<Box<dyn AnyStage>>)>,
        fonts: (String, String),
    ) -> CompareNode {
        let mut targets = Vec::new();
        let mut rows = Vec::new();
        for (member, stages) in members {
            rows.push((
                member.index as u32,
                member
                    .values
                    .iter()
                    .map(|(_, v)| serde_json::to_value(v).unwrap_or_default())
                    .collect(),
            ));
            for stage in stages {
                let id = stage.stage_name();
                targets.push(Target {
                    input: id.at(member.index),
                    family: id.family().to_string(),
                    member: member.index,
                    stage,
                });
            }
        }
        CompareNode {
            sweep: sweep.name.clone(),
            params: CompareParams {
                axes: sweep.axes.iter().map(|a| a.name.clone()).collect(),
                members: rows,
                resampling: Resampling::default(),
                font: fonts.0,
                font_bold: fonts.1,
            },
            targets,
        }
    }
}

/// A font of the page: under the experiment's folder, else in the checkout the program belongs
/// to (an experiment without a `[report]`, such as the toy's, still gets its figures drawn);
/// where neither has it, the experiment's path, so the error names where it was expected.
fn locate(root: &Path, font: &str) -> PathBuf {
    let own = root.join(font);
    if own.is_file() {
        return own;
    }
    stages::paths::candidate_roots()
        .into_iter()
        .map(|r| r.join(font))
        .find(|p| p.is_file())
        .unwrap_or(own)
}

fn value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        other => Value::Str(other.to_string()),
    }
}

impl Stage for CompareNode {
    type Params = CompareParams;

    fn name(&self) -> StageId {
        stage_id(&self.sweep)
    }

    fn version(&self) -> u32 {
        compare::VERSION
    }

    fn section(&self) -> String {
        String::new()
    }

    fn inputs(&self) -> Vec<StageId> {
        self.targets.iter().map(|t| t.input.clone()).collect()
    }

    fn defaults(&self) -> CompareParams {
        self.params.clone()
    }

    /// Everything is given at construction; nothing is read from the file.
    fn read_params(&self, _config: &Config) -> Result<CompareParams> {
        Ok(self.params.clone())
    }

    fn externals(&self, p: &CompareParams, config: &Config) -> Result<Vec<PathBuf>> {
        let mut files = vec![locate(&config.root, &p.font)];
        let bold = locate(&config.root, &p.font_bold);
        if bold.is_file() {
            files.push(bold);
        }
        Ok(files)
    }

    fn run(&self, ctx: &StageContext, params: &CompareParams) -> anyhow::Result<()> {
        let n = params.members.len();
        let position: std::collections::BTreeMap<usize, usize> = params
            .members
            .iter()
            .enumerate()
            .map(|(row, (index, _))| (*index as usize, row))
            .collect();
        let axes = params
            .axes
            .iter()
            .enumerate()
            .map(|(a, name)| Axis {
                name: name.clone(),
                values: params.members.iter().map(|(_, v)| value(&v[a])).collect(),
            })
            .collect();
        let mut columns: Vec<Column> = Vec::new();
        let mut by_name = std::collections::BTreeMap::new();
        for t in &self.targets {
            let dir = ctx.input(&t.input)?;
            let reported = t
                .stage
                .stage_report(dir)
                .map_err(|e| anyhow::anyhow!("{}: reading {}: {e:#}", t.input, dir.display()))?;
            for r in reported {
                let name = format!("{}.{}", t.family, r.column);
                let c = *by_name.entry(name.clone()).or_insert_with(|| {
                    columns.push(Column {
                        name,
                        role: r.role,
                        values: vec![f64::NAN; n],
                    });
                    columns.len() - 1
                });
                columns[c].values[position[&t.member]] = r.value;
            }
        }
        let members = Members {
            member: params.members.iter().map(|(i, _)| *i).collect(),
            axes,
            columns,
        };
        let out = compare::CompareArtifact::at(&ctx.out_dir);
        let comparison = compare::write(&self.sweep, &members, params.resampling, &out)?;
        let bold = locate(ctx.root, &params.font_bold);
        compare::page::write(
            &comparison,
            &out,
            &locate(ctx.root, &params.font),
            Some(bold.as_path()).filter(|p| p.is_file()),
        )?;
        eprintln!(
            "{}: {} members x {} columns, {} aggregates, {} correlations",
            ctx.name,
            members.len(),
            members.columns.len(),
            comparison.aggregates.len(),
            comparison.correlations.len()
        );
        Ok(())
    }
}
