//! The `pipeline` command, generic over the set of stages (the real binary passes the
//! experiment's stages; tests pass toy ones).
//!
//! Exit codes: 0 success, 1 a stage or the store failed, 2 usage or configuration error.

mod commands;
mod compare_table;
mod inspect;
mod metric;
mod session;
mod sweep;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::engine::EngineError;
use crate::engine::stage::Registry;

#[derive(Debug, Parser)]
#[command(
    name = "pipeline",
    version,
    about = "Content-addressed stages for testing the Platonic Representation Hypothesis",
    long_about = "Runs frozen encoders once, caches their features, trains adapters and measures \
                  alignment; every stage is keyed by a hash of its code version, parameters and \
                  inputs, and only what a change invalidated reruns."
)]
pub struct Cli {
    /// The experiment file (default: ./pipeline.toml, or the nearest one above).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override a parameter for this invocation, e.g. --set train.linear.lr=2e-4 (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub sets: Vec<String>,

    /// Fail rather than fall back to the CPU when the CUDA execution provider is unavailable.
    #[arg(long, global = true)]
    pub require_gpu: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a stage and whatever stale thing it needs (all stages when --stage is omitted).
    Run {
        /// A stage (`ingest`, `features:image`) or a family (`features`, `train`).
        #[arg(long)]
        stage: Option<String>,
        /// With --stage train: which adapter (`linear`, `mlp`).
        #[arg(long)]
        adapter: Option<String>,
        /// Rebuild the selected stage(s) even when fresh (what they read is still reused).
        #[arg(long)]
        force: bool,
        /// Build up to N independent stages at once (they divide the cores between them).
        #[arg(short = 'j', long = "jobs", default_value_t = 1, value_name = "N")]
        jobs: usize,
        /// After a stage fails, build everything that does not need it; exit 1 at the end
        /// naming what failed.
        #[arg(long)]
        keep_going: bool,
        /// Build only row shard I of N (from 0, as SLURM_ARRAY_TASK_ID) of one `features:*`
        /// stage, as its own artifact; once all N are built, a plain run assembles them into
        /// the artifact one process would write (same key, same bytes).
        #[arg(long, value_name = "I/N", requires = "stage")]
        shard: Option<stages::shard::Shard>,
    },
    /// Submit what `run` would build as Slurm jobs (`[executor.slurm]` in pipeline.toml): a job
    /// array per features stage (one task per shard), then each stage after what it reads.
    /// Submitting again submits only what is still missing. Prints the job ids.
    Submit {
        /// A stage or a family, as for `run` (all stages when omitted).
        #[arg(long)]
        stage: Option<String>,
        /// With --stage train: which adapter.
        #[arg(long)]
        adapter: Option<String>,
        /// Row shards per features stage (array tasks); 1 = one job per stage.
        #[arg(long, default_value_t = 1, value_name = "N")]
        shards: usize,
        /// Print the scripts; submit nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Build the members of a sweep (`[sweep.NAME]` in pipeline.toml) that are not built; a
    /// member that fails is reported and the others finish. Same as `run --stage sweep:NAME`.
    Sweep {
        name: String,
        /// Build up to N independent stages at once.
        #[arg(short = 'j', long = "jobs", default_value_t = 1, value_name = "N")]
        jobs: usize,
        /// Build only member I (from 0, as `status --sweep` lists them; a Slurm array task),
        /// not the compare tables.
        #[arg(long, value_name = "I")]
        member: Option<usize>,
    },
    /// A sweep's members in one table (its swept values, then their results), like
    /// `dvc exp show`; builds the compare tables when every member is built.
    Compare {
        name: String,
        /// Print compare.json: members, per-configuration aggregates across seeds, correlations.
        #[arg(long)]
        json: bool,
        /// Sort the members by this column (a swept parameter or a result), ascending.
        #[arg(long, value_name = "COLUMN")]
        sort: Option<String>,
        /// Leave out the columns whose value is the same for every member.
        #[arg(long)]
        only_changed: bool,
        /// Every result column, not only the alignment and performance ones.
        #[arg(long)]
        all: bool,
    },
    /// Each stage's state (fresh, stale, missing) and why, then each sweep's members.
    Status {
        /// One JSON array, for scripts.
        #[arg(long)]
        json: bool,
        /// Each member of this sweep instead: built, stale (same values, other inputs or code)
        /// or missing.
        #[arg(long, value_name = "NAME")]
        sweep: Option<String>,
    },
    /// Print the artifact folder of STAGE for the current configuration.
    Show {
        stage: String,
        #[arg(long)]
        adapter: Option<String>,
    },
    /// Rehash every artifact against its manifest and name what was tampered with.
    Verify {
        /// Remove broken artifacts so that the next run rebuilds them.
        #[arg(long)]
        repair: bool,
    },
    /// The align stage's metrics between two row-aligned .npy files (float32 or float64, rows x
    /// features); prints one JSON object, metric name -> score.
    Metric {
        a: PathBuf,
        b: PathBuf,
        /// `all` or a comma-separated list: kernel_alignment, mutual_knn, cycle_knn, lcs_knn,
        /// edit_distance_knn, cka, unbiased_cka, cknna, svcca, debiased_cka.
        #[arg(long, default_value = "all")]
        metric: String,
        /// Neighbours per row for the kNN metrics and CKNNA.
        #[arg(long, default_value_t = 10)]
        topk: usize,
        /// Skip the outlier clamp at the 0.95 quantile of |x|.
        #[arg(long)]
        no_clamp: bool,
        /// SVCCA's number of singular directions.
        #[arg(long, default_value_t = 10)]
        cca_dim: usize,
    },
    /// Remove artifacts that no stage of the current configuration reaches.
    Gc {
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Parses the command line, runs it and returns the process exit code.
pub fn main(registry: Registry) -> i32 {
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    stages::onnx::runtime::set_require_gpu(cli.require_gpu);
    crate::engine::cores::use_allotted();
    crate::engine::interrupt::install();
    let outcome = match &cli.command {
        // Needs no experiment file.
        Command::Metric {
            a,
            b,
            metric,
            topk,
            no_clamp,
            cca_dim,
        } => metric::run(metric::MetricArgs {
            a,
            b,
            metric,
            topk: *topk,
            no_clamp: *no_clamp,
            cca_dim: *cca_dim,
        }),
        _ => commands::dispatch(cli, registry),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PIPELINE_LOG")
        // The SVG renderer warns about every unsupported filter; those are not the user's to fix.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("warn,usvg=error,resvg=error,tiny_skia=error")
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) type CliResult = Result<i32, EngineError>;
