//! Learning rate: linear warmup from 0, then cosine decay to `min_lr` (transformers'
//! `get_cosine_schedule_with_warmup`, with a floor):
//!   step < W:  lr · step / W
//!   else:      min_lr + (lr − min_lr) · max(0, ½ · (1 + cos(2π · num_cycles · p))),
//!              p = (step − W) / max(1, T − W)
//! with W = warmup_epochs · steps_per_epoch and T = epochs · steps_per_epoch optimizer steps.
//! Step 0 has lr 0, so the first optimizer step changes nothing (the history says so).

#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub lr: f64,
    pub min_lr: f64,
    pub warmup_steps: usize,
    pub total_steps: usize,
    pub num_cycles: f64,
}

impl Schedule {
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.lr * step as f64 / self.warmup_steps.max(1) as f64;
        }
        let progress = (step - self.warmup_steps) as f64
            / (self.total_steps.saturating_sub(self.warmup_steps)).max(1) as f64;
        let cosine = (0.5
            * (1.0 + (2.0 * std::f64::consts::PI * self.num_cycles * progress).cos()))
        .max(0.0);
        self.min_lr + (self.lr - self.min_lr) * cosine
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine_to_the_floor() {
        let s = Schedule {
            lr: 2e-4,
            min_lr: 1e-6,
            warmup_steps: 4,
            total_steps: 20,
            num_cycles: 0.5,
        };
        assert_eq!(s.at(0), 0.0);
        assert!((s.at(2) - 1e-4).abs() < 1e-18);
        assert!((s.at(4) - 2e-4).abs() < 1e-18, "peak at the end of warmup");
        // Half way through the decay: cos(π/2) = 0 → the midpoint between lr and min_lr.
        assert!((s.at(12) - (1e-6 + 0.5 * (2e-4 - 1e-6))).abs() < 1e-15);
        assert!((s.at(20) - 1e-6).abs() < 1e-18, "floor at the end");
        // Hand-computed: step 8, p = 0.25, ½(1 + cos(π/4)) = 0.853553…
        let want = 1e-6 + (2e-4 - 1e-6) * 0.5 * (1.0 + std::f64::consts::FRAC_1_SQRT_2);
        assert!((s.at(8) - want).abs() < 1e-15);
    }
}
