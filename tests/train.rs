//! The training loop on the CPU backend: real data, real optimisation.
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

mod common;

use burn::nn::loss::CrossEntropyLoss;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;
use reslab::config::{ExperimentConfig, OptimizerKind, Schedule};
use reslab::data::{self, Dataset, DatasetKind};
use reslab::train::{self, Control, Event, Status};
use std::sync::{Mutex, MutexGuard};

fn sample(kind: DatasetKind) -> Dataset {
    data::load_files(&data::sample::builtin_files(kind).unwrap(), Some(kind)).unwrap()
}

/// Held while a test seeds the backend and trains: Flex's random generator
/// (`device.seed`, weight initialisation) is one per process, so nets built
/// by tests running in parallel would take each other's draws and a seeded
/// run would not be reproducible.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A test that failed while holding it leaves nothing behind to protect.
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn run(cfg: &ExperimentConfig, data: &Dataset) -> (train::RunResult, Vec<Event>) {
    let _serial = exclusive();
    let mut events = Vec::new();
    let r = pollster::block_on(train::train(cfg, data, &Device::flex(), "cpu", &Control::new(), &mut |e| events.push(e.clone())));
    (r, events)
}

/// Loss on a fixed batch before and after one optimizer step (train mode both times).
fn one_step(model: &str, dataset: &Dataset, opt: OptimizerKind, lr: f64) -> (f32, f32) {
    let cfg = ExperimentConfig { model: model.into(), dataset: dataset.kind, optimizer: opt, lr, ..Default::default() };
    let _serial = exclusive();
    let device = Device::flex().autodiff();
    device.seed(7);
    let net = cfg.build_net(&device).unwrap();
    let mut optim = reslab::optim::build(&cfg, Some(&net));
    let idx: Vec<usize> = (0..32).collect();
    let mean = data::pixel_mean(&dataset.train);
    let (mut px, mut labels) = (Vec::new(), Vec::new());
    data::fill_batch(&dataset.train, &idx, &mean, None, &mut px, &mut labels);
    let s = &dataset.train;
    let x = Tensor::<4>::from_data(TensorData::new(px, [32, s.channels, s.height, s.width]), &device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [32]), &device);
    let ce = CrossEntropyLoss::new(None, &device);
    let loss = ce.forward(net.forward(x.clone()), y.clone());
    let before = loss.clone().into_scalar::<f32>();
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    let net = optim.step(lr, net, grads);
    let after = ce.forward(net.forward(x), y).into_scalar::<f32>();
    (before, after)
}

#[test]
fn one_step_lowers_the_loss_for_each_family() {
    let mnist = sample(DatasetKind::Mnist);
    let cifar = sample(DatasetKind::Cifar10);
    for (model, data) in [("cnn", &mnist), ("mlp", &mnist), ("resnet20", &cifar), ("plain20", &cifar), ("vgg11", &cifar), ("resnet18", &cifar)] {
        let (before, after) = one_step(model, data, OptimizerKind::Momentum, 0.05);
        assert!(after < before, "{model}: loss {before} → {after}");
    }
}

#[test]
fn one_step_lowers_the_loss_for_each_optimizer() {
    let mnist = sample(DatasetKind::Mnist);
    for (opt, lr) in [
        (OptimizerKind::Sgd, 0.1),
        (OptimizerKind::Momentum, 0.05),
        (OptimizerKind::Nesterov, 0.05),
        (OptimizerKind::Adam, 1e-3),
        (OptimizerKind::Adamw, 1e-3),
        (OptimizerKind::Adagrad, 1e-3),
        (OptimizerKind::Rmsprop, 1e-4), // its first step is 10·lr·sign(g)
    ] {
        let (before, after) = one_step("cnn", &mnist, opt, lr);
        assert!(after < before, "{}: loss {before} → {after}", opt.id());
    }
}

/// The accuracy this code should reach: `cnn` + Adam (lr 1e-3, batch 64),
/// one epoch with 1,000 training images held out for validation, tested on
/// the whole test split. On the full MNIST (59,000 training images, 10,000
/// test images): ≥ 97% (see README for the measured figure). On the built-in
/// sample (9,000 and 2,000) it reached 92.0–93.3% over seeds 1–6, so ≥ 90%,
/// far above chance (10%) yet clear of the seed-to-seed spread.
#[test]
fn cnn_reaches_its_target_accuracy_on_mnist() {
    let used = common::Data::resolve(DatasetKind::Mnist);
    used.announce();
    let mnist = used.load();
    // (test accuracy, validation accuracy, training images, test images)
    let (min_acc, min_val, train_images, test_images) =
        if used.is_full() { (0.97, 0.95, 59_000, 10_000) } else { (0.90, 0.88, 9_000, 2_000) };
    let cfg = ExperimentConfig { val_size: 1_000, log_every: 50, ..Default::default() };
    let (r, events) = run(&cfg, &mnist);
    assert_eq!(r.status, Status::Finished, "{}", r.message);
    let acc = r.test_accuracy.unwrap();
    eprintln!("cnn/MNIST: test accuracy {:.2}% in {:.1}s ({:.0} img/s)", acc * 100.0, r.wall_seconds, r.img_per_s);
    assert!(acc >= min_acc, "test accuracy {acc}, expected at least {min_acc} ({used})");
    // The result carries what the page and the CLI show.
    assert_eq!(r.confusion_matrix.iter().flatten().sum::<usize>(), test_images, "{used}");
    assert_eq!(r.per_class_accuracy.len(), 10);
    assert_eq!(r.epochs.len(), 1);
    let val = r.epochs[0].val_accuracy.unwrap();
    assert!(val > min_val, "validation accuracy {val}, expected above {min_val} ({used})");
    assert_eq!(r.steps.len(), usize::div_ceil(train_images, 64), "{used}");
    assert!(events.iter().any(|e| matches!(e, Event::Start { .. })));
    assert!(matches!(events.last(), Some(Event::Finished { status: Status::Finished, .. })));
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    for key in ["config", "epochs", "steps", "test_loss", "test_accuracy", "per_class_accuracy", "confusion_matrix", "wall_seconds", "img_per_s", "status"] {
        assert!(json.get(key).is_some(), "result JSON lacks {key}");
    }
    assert_eq!(json["status"], "finished");
}

#[test]
fn runs_are_reproducible_from_their_seed() {
    let mnist = sample(DatasetKind::Mnist);
    let cfg = ExperimentConfig { max_steps: Some(12), log_every: 4, batch_size: 32, augment: Some(true), ..Default::default() };
    let (a, _) = run(&cfg, &mnist);
    let (b, _) = run(&cfg, &mnist);
    let (c, _) = run(&ExperimentConfig { seed: 2, ..cfg.clone() }, &mnist);
    assert_eq!(a.steps, b.steps);
    assert_eq!(a.test_predictions, b.test_predictions);
    assert_ne!(a.steps, c.steps);
}

#[test]
fn a_huge_learning_rate_diverges_with_a_message() {
    let mnist = sample(DatasetKind::Mnist);
    let cfg = ExperimentConfig { optimizer: OptimizerKind::Sgd, lr: 1e4, max_steps: Some(50), log_every: 5, ..Default::default() };
    let (r, events) = run(&cfg, &mnist);
    assert_eq!(r.status, Status::Diverged);
    assert!(r.message.starts_with("diverged at step "), "{}", r.message);
    let n: usize = r.message["diverged at step ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1 && n <= 50);
    assert!(matches!(events.last(), Some(Event::Finished { status: Status::Diverged, .. })));
}

#[test]
fn adam_at_lr_10_is_called_diverged_though_its_loss_stays_finite() {
    let mnist = sample(DatasetKind::Mnist);
    let cfg = ExperimentConfig { optimizer: OptimizerKind::Adam, lr: 10.0, max_steps: Some(40), log_every: 1, batch_size: 32, test_limit: Some(100), ..Default::default() };
    let (r, _) = run(&cfg, &mnist);
    assert_eq!(r.status, Status::Diverged, "{}", r.message);
    assert!(r.message.contains("above 1000"), "{}", r.message);
    // The curve up to the divergence is kept.
    assert!(!r.steps.is_empty() && r.steps.iter().all(|p| p.loss.is_finite()));
}

#[test]
fn stop_ends_the_run_and_keeps_what_it_has() {
    let mnist = sample(DatasetKind::Mnist);
    let cfg = ExperimentConfig { max_steps: Some(1000), log_every: 2, batch_size: 16, test_limit: Some(100), ..Default::default() };
    let control = Control::new();
    let mut seen = 0;
    let _serial = exclusive();
    let r = pollster::block_on(train::train(&cfg, &mnist, &Device::flex(), "cpu", &control, &mut |e| {
        if let Event::Steps { points, .. } = e {
            seen += points.len();
            if seen >= 6 {
                control.stop();
            }
        }
    }));
    assert_eq!(r.status, Status::Stopped);
    assert!(r.steps.len() >= 6 && r.steps.len() < 20, "{} steps", r.steps.len());
    assert!(r.test_accuracy.is_some());
}

#[test]
fn bad_configs_fail_before_training() {
    let mnist = sample(DatasetKind::Mnist);
    let (r, _) = run(&ExperimentConfig { dataset: DatasetKind::Cifar10, ..Default::default() }, &mnist);
    assert_eq!(r.status, Status::Failed);
    assert!(r.message.contains("dataset"), "{}", r.message);
    assert!(r.steps.is_empty());
    let (r, _) = run(&ExperimentConfig { val_size: 20_000, ..Default::default() }, &mnist);
    assert!(r.message.contains("val_size"), "{}", r.message);
}

#[test]
fn validation_runs_every_epoch() {
    let mnist = sample(DatasetKind::Mnist);
    let cfg = ExperimentConfig { train_limit: Some(600), val_size: 200, epochs: 3, test_limit: Some(200), ..Default::default() };
    let (r, events) = run(&cfg, &mnist);
    assert_eq!(r.status, Status::Finished, "{}", r.message);
    assert_eq!(r.epochs.len(), 3);
    assert!(r.epochs.iter().all(|e| e.val_loss.unwrap().is_finite() && e.val_accuracy.is_some()));
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Epoch(_))).count(), 3);
    assert_eq!(r.best_val_accuracy, r.epochs.iter().filter_map(|e| e.val_accuracy).reduce(f64::max));
}

/// Runs `cfg` until the end of epoch `k`, stopping it there as a user would,
/// and returns the checkpoint of that epoch as file bytes.
fn stopped_at_epoch(cfg: &ExperimentConfig, data: &Dataset, k: usize) -> (train::RunResult, Vec<u8>) {
    let control = Control::new();
    let mut kept = None;
    let stopped = pollster::block_on(train::train_checkpointed(
        cfg,
        data,
        &Device::flex(),
        "cpu",
        &control,
        &mut |_| {},
        train::Start::Fresh,
        &mut |ck| {
            if ck.progress.epoch == k {
                kept = Some(ck);
                control.stop();
            }
        },
    ));
    let bytes = pollster::block_on(kept.expect("a checkpoint at epoch k").to_bytes(true)).unwrap();
    (stopped, bytes)
}

fn resume(cfg: &ExperimentConfig, data: &Dataset, ck: train::Checkpoint) -> train::RunResult {
    pollster::block_on(train::train_checkpointed(cfg, data, &Device::flex(), "cpu", &Control::new(), &mut |_| {}, train::Start::Resume(ck), &mut |_| {}))
}

/// Steps, epochs and test figures of two runs agree within float tolerance.
fn assert_same_run(a: &train::RunResult, b: &train::RunResult) {
    assert_eq!(a.status, b.status, "{} / {}", a.message, b.message);
    assert_eq!(a.steps.len(), b.steps.len());
    for (x, y) in a.steps.iter().zip(&b.steps) {
        assert_eq!(x.step, y.step);
        assert!((x.loss - y.loss).abs() <= 1e-4 * x.loss.abs().max(1.0), "step {}: {} vs {}", x.step, x.loss, y.loss);
    }
    assert_eq!(a.epochs.len(), b.epochs.len());
    for (x, y) in a.epochs.iter().zip(&b.epochs) {
        assert!((x.train_loss - y.train_loss).abs() < 1e-4, "epoch {}: {} vs {}", x.epoch, x.train_loss, y.train_loss);
        assert_eq!(x.val_accuracy.is_some(), y.val_accuracy.is_some());
        if let (Some(p), Some(q)) = (x.val_loss, y.val_loss) {
            assert!((p - q).abs() < 1e-4, "epoch {} val loss: {p} vs {q}", x.epoch);
        }
    }
    assert!((a.test_accuracy.unwrap() - b.test_accuracy.unwrap()).abs() < 1e-9, "{:?} vs {:?}", a.test_accuracy, b.test_accuracy);
    assert_eq!(a.steps_done, b.steps_done);
}

/// A run stopped at the end of epoch 2 and resumed from its checkpoint file
/// gives the curve of a run that was never stopped: the optimizer's state
/// (momentum, Adam's moments and step count), the schedule, the batches, the
/// augmentation draws and early stopping all continue.
#[test]
fn a_resumed_run_gives_the_same_curve_as_one_never_stopped() {
    let cifar = sample(DatasetKind::Cifar10);
    let mnist = sample(DatasetKind::Mnist);
    let cases = [
        // Momentum SGD, multistep with a milestone after the stop, warm-up across it, augmentation on.
        (
            ExperimentConfig {
                optimizer: OptimizerKind::Momentum,
                lr: 0.05,
                weight_decay: 1e-4,
                schedule: Schedule::Multistep,
                milestones: vec![24],
                warmup_steps: 20,
                ..cifar_cfg()
            },
            &cifar,
        ),
        // Adam, cosine (its rate at the resume point is far from lr), early stopping with patience.
        (
            ExperimentConfig { schedule: Schedule::Cosine, patience: Some(3), val_size: 64, ..mnist_cfg() },
            &mnist,
        ),
    ];
    for (cfg, data) in cases {
        let _serial = exclusive();
        let whole = pollster::block_on(train::train(&cfg, data, &Device::flex(), "cpu", &Control::new(), &mut |_| {}));
        assert_eq!(whole.status, Status::Finished, "{}", whole.message);
        let (stopped, bytes) = stopped_at_epoch(&cfg, data, 2);
        assert_eq!(stopped.status, Status::Stopped, "{}", stopped.message);
        assert!(stopped.steps_done < whole.steps_done);

        let ck = train::Checkpoint::from_bytes(&bytes, &Device::flex()).unwrap();
        assert_eq!((ck.progress.epoch, ck.progress.step), (2, 2 * 8));
        assert!(ck.optimizer.is_some() && ck.progress.optimizer_state);
        let resumed = resume(&cfg, data, ck);
        assert_same_run(&whole, &resumed);

        // The same weights with a fresh optimizer (what a resume used to be)
        // is a different run: this is what the test would catch.
        let mut weights_only = train::Checkpoint::from_bytes(&bytes, &Device::flex()).unwrap();
        weights_only.optimizer = None;
        let restarted = resume(&cfg, data, weights_only);
        let later = |r: &train::RunResult| r.steps.iter().find(|p| p.step == whole.steps_done).map(|p| p.loss);
        assert!(
            (later(&restarted).unwrap() - later(&whole).unwrap()).abs() > 1e-4,
            "a fresh optimizer state should change the run's end ({:?} vs {:?})",
            later(&restarted),
            later(&whole)
        );
    }
}

fn cifar_cfg() -> ExperimentConfig {
    ExperimentConfig {
        dataset: DatasetKind::Cifar10,
        model: "resnet8".into(),
        epochs: 4,
        train_limit: Some(256),
        test_limit: Some(100),
        batch_size: 32,
        augment: Some(true),
        log_every: 3,
        ..Default::default()
    }
}

fn mnist_cfg() -> ExperimentConfig {
    ExperimentConfig { epochs: 4, train_limit: Some(320), test_limit: Some(100), batch_size: 32, log_every: 4, ..Default::default() }
}

#[test]
fn a_checkpoint_refuses_another_run_and_bad_bytes() {
    let mnist = sample(DatasetKind::Mnist);
    let cfg = mnist_cfg();
    let _serial = exclusive();
    let (_, bytes) = stopped_at_epoch(&cfg, &mnist, 1);
    let ck = train::Checkpoint::from_bytes(&bytes, &Device::flex()).unwrap();
    let other = ExperimentConfig { lr: 0.01, ..cfg.clone() };
    let r = resume(&other, &mnist, ck);
    assert_eq!(r.status, Status::Failed);
    assert!(r.message.contains("lr differs"), "{}", r.message);

    let err = |b: &[u8]| train::Checkpoint::from_bytes(b, &Device::flex()).err().expect("refused");
    assert!(err(b"RESLABMODEL1\n").contains("not a ResLab checkpoint"));
    for cut in [14, 40, bytes.len() / 2, bytes.len() - 1] {
        let msg = err(&bytes[..cut]);
        assert!(msg.contains("truncated") || msg.contains("cannot be read"), "cut at {cut}: {msg}");
    }
}
