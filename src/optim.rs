//! Optimizers (Burn's) and learning-rate schedules (ours: a pure function of
//! the step, so the page can plot it and a resumed run gets the same rate).

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdaGradConfig, AdamConfig, AdamWConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};

use crate::config::{ExperimentConfig, OptimizerKind, Schedule};

/// Build the optimizer a config names.
///
/// Conventions (stated because frameworks differ): momentum SGD without
/// dampening (PyTorch's default; Burn's default dampening is 0.1); weight decay
/// is an L2 term added to the gradient, except for AdamW where it is
/// decoupled; RMSprop uses alpha 0.99 and no momentum (PyTorch's defaults).
pub fn build(cfg: &ExperimentConfig) -> ModuleOptimizer {
    let wd = (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32));
    let eps = cfg.epsilon as f32;
    match cfg.optimizer {
        OptimizerKind::Sgd => SgdConfig::new().with_weight_decay(wd).init(),
        OptimizerKind::Momentum | OptimizerKind::Nesterov => SgdConfig::new()
            .with_weight_decay(wd)
            .with_momentum(Some(
                MomentumConfig::new()
                    .with_momentum(cfg.momentum)
                    .with_dampening(0.0)
                    .with_nesterov(cfg.optimizer == OptimizerKind::Nesterov),
            ))
            .init(),
        OptimizerKind::Adam => AdamConfig::new()
            .with_beta_1(cfg.beta1 as f32)
            .with_beta_2(cfg.beta2 as f32)
            .with_epsilon(eps)
            .with_weight_decay(wd)
            .init(),
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_beta_1(cfg.beta1 as f32)
            .with_beta_2(cfg.beta2 as f32)
            .with_epsilon(eps)
            .with_weight_decay(cfg.weight_decay as f32)
            .init(),
        OptimizerKind::Adagrad => AdaGradConfig::new().with_epsilon(eps).with_weight_decay(wd).init(),
        OptimizerKind::Rmsprop => RmsPropConfig::new()
            .with_alpha(0.99)
            .with_momentum(0.0)
            .with_epsilon(eps)
            .with_weight_decay(wd)
            .init(),
    }
}

/// Learning rate at `step` (0-based) of a run of `total` steps.
///
/// Warm-up first: the rate rises linearly from `warmup_lr` to `lr` over
/// `warmup_steps`. Deviation from the paper, whose ResNet-110 holds 0.01 for
/// ~400 iterations and then jumps to 0.1: a ramp serves the same purpose
/// (getting past the unstable start) without a discontinuity.
pub fn lr_at(cfg: &ExperimentConfig, step: usize, total: usize) -> f64 {
    if step < cfg.warmup_steps {
        // Linear warm-up from warmup_lr to lr.
        let t = step as f64 / cfg.warmup_steps as f64;
        return cfg.warmup_lr + (cfg.lr - cfg.warmup_lr) * t;
    }
    match cfg.schedule {
        Schedule::Constant => cfg.lr,
        Schedule::Multistep => {
            let passed = cfg.milestones.iter().filter(|&&m| step >= m).count();
            cfg.lr * cfg.gamma.powi(passed as i32)
        }
        Schedule::Cosine => {
            let start = cfg.warmup_steps;
            let span = total.saturating_sub(start).max(1) as f64;
            let t = ((step - start) as f64 / span).min(1.0);
            cfg.lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multistep_divides_at_milestones() {
        let cfg = ExperimentConfig::paper_cifar("resnet20");
        assert_eq!(lr_at(&cfg, 0, 64_000), 0.1);
        assert_eq!(lr_at(&cfg, 31_999, 64_000), 0.1);
        assert!((lr_at(&cfg, 32_000, 64_000) - 0.01).abs() < 1e-12);
        assert!((lr_at(&cfg, 48_000, 64_000) - 0.001).abs() < 1e-12);
    }

    #[test]
    fn cosine_goes_from_lr_to_zero_and_warmup_ramps() {
        let cfg = ExperimentConfig { schedule: Schedule::Cosine, lr: 0.1, warmup_steps: 10, warmup_lr: 0.01, ..Default::default() };
        assert!((lr_at(&cfg, 0, 110) - 0.01).abs() < 1e-12);
        assert!(lr_at(&cfg, 5, 110) > 0.01 && lr_at(&cfg, 5, 110) < 0.1);
        assert!((lr_at(&cfg, 10, 110) - 0.1).abs() < 1e-12);
        assert!((lr_at(&cfg, 60, 110) - 0.05).abs() < 1e-9);
        assert!(lr_at(&cfg, 110, 110).abs() < 1e-12);
    }
}
