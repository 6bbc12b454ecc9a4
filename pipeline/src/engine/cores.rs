//! How many cores this process may use: the machine's, or inside a Slurm job the CPUs Slurm
//! allotted the task (`SLURM_CPUS_ON_NODE`), so that two array tasks sharing a node do not each
//! start one thread per core. Thread counts change how work is split, not what is computed.

/// The machine's cores.
pub fn machine() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The CPUs of this Slurm job on this node, when running in one.
pub fn slurm() -> Option<usize> {
    std::env::var_os("SLURM_JOB_ID")?;
    std::env::var("SLURM_CPUS_ON_NODE")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

/// Inside a Slurm job, sizes the rayon pool (decoding, metrics) to the allotted CPUs, unless
/// `RAYON_NUM_THREADS` says otherwise. ONNX Runtime sessions get their share in the runner.
pub fn use_allotted() {
    if let Some(n) = slurm()
        && std::env::var_os("RAYON_NUM_THREADS").is_none()
    {
        // Fails only if the pool was built already: then it stays as it is.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
}
