//! Optimizers (Burn's) and learning-rate schedules (ours: a pure function of
//! the step, so the page can plot it and a resumed run gets the same rate).

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::{MomentumConfig, MomentumState};
use burn::optim::{
    AdaGradConfig, Adam, AdamConfig, AdamState, AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
    RmsPropConfig, Sgd, SgdConfig, SgdState,
};
use burn::prelude::*;
use burn::tensor::TensorData;

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{ExperimentConfig, OptimizerKind, Schedule};
use crate::model::Net;

/// Build the optimizer a config names.
///
/// Conventions (stated because frameworks differ): momentum SGD without
/// dampening (PyTorch's default; Burn's default dampening is 0.1); weight decay
/// is an L2 term added to the gradient, except for AdamW where it is
/// decoupled; RMSprop uses alpha 0.99 and no momentum (PyTorch's defaults).
///
/// With `net` (a fresh run), the state momentum SGD and Adam(W) keep is made
/// now, as zeros on the net's device (see `FromZero`).
pub fn build(cfg: &ExperimentConfig, net: Option<&Net>) -> ModuleOptimizer {
    let wd = (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32));
    let eps = cfg.epsilon as f32;
    match cfg.optimizer {
        OptimizerKind::Sgd => SgdConfig::new().with_weight_decay(wd).init(),
        OptimizerKind::Momentum | OptimizerKind::Nesterov => FromZero::init(
            SgdConfig::new()
                .with_weight_decay(wd)
                .with_momentum(Some(
                    MomentumConfig::new()
                        .with_momentum(cfg.momentum)
                        .with_dampening(0.0)
                        .with_nesterov(cfg.optimizer == OptimizerKind::Nesterov),
                ))
                .build(),
            net,
        ),
        OptimizerKind::Adam => FromZero::init(
            AdamConfig::new()
                .with_beta_1(cfg.beta1 as f32)
                .with_beta_2(cfg.beta2 as f32)
                .with_epsilon(eps)
                .with_weight_decay(wd)
                .build(),
            net,
        ),
        OptimizerKind::Adamw => FromZero::init(
            AdamWConfig::new()
                .with_beta_1(cfg.beta1 as f32)
                .with_beta_2(cfg.beta2 as f32)
                .with_epsilon(eps)
                .with_weight_decay(cfg.weight_decay as f32)
                .build(),
            net,
        ),
        OptimizerKind::Adagrad => AdaGradConfig::new().with_epsilon(eps).with_weight_decay(wd).init(),
        OptimizerKind::Rmsprop => RmsPropConfig::new()
            .with_alpha(0.99)
            .with_momentum(0.0)
            .with_epsilon(eps)
            .with_weight_decay(wd)
            .init(),
    }
}

/// Burn's optimizer `O`, its state starting as zeros already on the device,
/// where Burn's starts absent: momentum SGD's first step takes the gradient
/// as the velocity, Adam's the scaled gradient and its square as the moments.
/// The values are the same (momentum·0 + g = g exactly, PyTorch's first step
/// too). What changes is that the first step runs the very operations of
/// every later step, so a GPU compiles the update's kernels in the first
/// step, not the second (BENCHMARKS.md, "pipelines created after the first
/// step").
///
/// The zeros are made when the optimizer is built, before the first step, and
/// handed out by shape, in the order of the parameters: made inside the step,
/// they would sit among the step's operations and change how the fused
/// backend cuts them into kernels, for that one step. Each is the product of
/// its parameter by zero, so it has the parameter's layout in memory (on a
/// GPU, the gradient's: `Net::lay_out_like_gradients`), and the update reads
/// the three alike from the first step on.
#[derive(Clone)]
struct FromZero<O> {
    inner: O,
    zeros: Arc<Mutex<HashMap<Vec<usize>, Vec<Box<dyn Any + Send>>>>>,
}

/// The state an optimizer has before its first step, made of zero tensors.
trait ZeroState: Optimizer {
    /// Zero tensors the state holds per parameter.
    const TENSORS: usize;
    fn zero_state<const D: usize>(zeros: impl FnMut() -> Tensor<D>) -> Self::State<D>;
}

impl ZeroState for Sgd {
    const TENSORS: usize = 1;
    fn zero_state<const D: usize>(mut zeros: impl FnMut() -> Tensor<D>) -> SgdState<D> {
        SgdState::new(Some(MomentumState::new(zeros())))
    }
}

impl ZeroState for Adam {
    const TENSORS: usize = 2;
    fn zero_state<const D: usize>(mut zeros: impl FnMut() -> Tensor<D>) -> AdamState<D> {
        // Time 0: the step counts itself as the first, for the bias correction.
        AdamState::new(AdaptiveMomentumState::new(0, zeros(), zeros()))
    }
}

impl ZeroState for AdamW {
    const TENSORS: usize = 2;
    fn zero_state<const D: usize>(mut zeros: impl FnMut() -> Tensor<D>) -> AdamWState<D> {
        AdamWState::new(AdaptiveMomentumState::new(0, zeros(), zeros()))
    }
}

impl<O: ZeroState> FromZero<O> {
    fn init(inner: O, net: Option<&Net>) -> ModuleOptimizer {
        let zeros = net.map(|n| zeros_for(n, O::TENSORS)).unwrap_or_default();
        ModuleOptimizer::from(Self { inner, zeros: Arc::new(Mutex::new(zeros)) })
    }

    fn zeros<const D: usize>(&self, like: &Tensor<D>) -> Tensor<D> {
        let shape = like.dims().to_vec();
        let kept = self.zeros.lock().ok().and_then(|mut m| {
            let left = m.get_mut(&shape)?;
            (!left.is_empty()).then(|| left.remove(0))
        });
        match kept.and_then(|b| b.downcast::<Tensor<D>>().ok()) {
            Some(t) => *t,
            // Not made in advance (a resumed run without optimizer state).
            None => Tensor::<D>::from_data(TensorData::zeros::<f32, _>(shape), &like.device()),
        }
    }
}

impl<O: ZeroState> Optimizer for FromZero<O> {
    type State<const D: usize> = O::State<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let state = state.or_else(|| Some(O::zero_state(|| self.zeros(&tensor))));
        self.inner.step(lr, tensor, grad, state)
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        O::to_device(state, device)
    }
}

/// `per_param` zero tensors for each float parameter of `net`, on its device, by shape in parameter order.
fn zeros_for(net: &Net, per_param: usize) -> HashMap<Vec<usize>, Vec<Box<dyn Any + Send>>> {
    use burn::module::{Module, ModuleVisitor, Param};
    struct Zeros(usize, HashMap<Vec<usize>, Vec<Box<dyn Any + Send>>>);
    impl ModuleVisitor for Zeros {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val().inner();
            let shape = value.dims().to_vec();
            for _ in 0..self.0 {
                // Exactly zero: parameters are finite (a product of -x by 0 is -0, the same in every use here).
                let z: Tensor<D> = value.clone().mul_scalar(0.0);
                self.1.entry(shape.clone()).or_default().push(Box::new(z));
            }
        }
    }
    let mut z = Zeros(per_param, HashMap::new());
    net.visit(&mut z);
    z.1
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

    /// Starting from zeros gives the values of Burn's optimizers (whose state
    /// starts absent): momentum SGD plain and Nesterov, Adam and AdamW, weight
    /// decay included, over steps whose learning rate changes.
    #[test]
    fn from_zero_is_burns_optimizer() {
        use burn::nn::loss::CrossEntropyLoss;
        use burn::optim::GradientsParams;
        let wd = || Some(WeightDecayConfig::new(1e-2));
        let momentum = |nesterov| Some(MomentumConfig::new().with_momentum(0.9).with_dampening(0.0).with_nesterov(nesterov));
        let cases = [
            (OptimizerKind::Momentum, SgdConfig::new().with_weight_decay(wd()).with_momentum(momentum(false)).init()),
            (OptimizerKind::Nesterov, SgdConfig::new().with_weight_decay(wd()).with_momentum(momentum(true)).init()),
            (OptimizerKind::Adam, AdamConfig::new().with_epsilon(1e-8).with_weight_decay(wd()).init()),
            (OptimizerKind::Adamw, AdamWConfig::new().with_epsilon(1e-8).with_weight_decay(1e-2).init()),
        ];
        for (kind, mut theirs) in cases {
            let cfg = ExperimentConfig { model: "mlp".into(), optimizer: kind, momentum: 0.9, weight_decay: 1e-2, epsilon: 1e-8, ..Default::default() };
            assert_eq!((cfg.beta1, cfg.beta2), (0.9, 0.999), "Burn's Adam defaults, as the reference here");
            let device = Device::flex().autodiff();
            // One net, cloned: the device's seed is shared with tests running
            // beside this one, so two nets built from it could differ.
            let start = cfg.build_net(&device).unwrap();
            pollster::block_on(start.settle()).unwrap();
            let (mut ours, mut burns) = (start.clone(), start.clone());
            let mut mine = build(&cfg, Some(&ours));
            let mut rng = crate::rng::Rng::new(5);
            let x = Tensor::<4>::from_data(TensorData::new((0..4 * 784).map(|_| rng.next_f32()).collect::<Vec<_>>(), [4, 1, 28, 28]), &device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 7, 3, 0], [4]), &device);
            let ce = CrossEntropyLoss::new(None, &device);
            for lr in [0.1, 0.05, 0.1] {
                let g = GradientsParams::from_grads(ce.forward(ours.forward(x.clone()), y.clone()).backward(), &ours);
                ours = mine.step(lr, ours, g);
                let g = GradientsParams::from_grads(ce.forward(burns.forward(x.clone()), y.clone()).backward(), &burns);
                burns = theirs.step(lr, burns, g);
            }
            let out = |n: &Net| n.forward(x.clone()).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
            let (a, b) = (out(&ours), out(&burns));
            let moved = out(&start);
            assert!(a.iter().zip(&moved).any(|(p, q)| (p - q).abs() > 1e-3), "{kind:?}: three steps changed the net");
            for (p, q) in a.iter().zip(&b) {
                assert!((p - q).abs() <= 1e-5 * q.abs().max(1.0), "{kind:?}: ours {a:?}, Burn's {b:?}");
            }
        }
    }

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
