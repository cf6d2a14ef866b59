//! ResLab's kernels must really run. They are a Burn backend extension
//! (`crates/reslab-kernels`): if a Burn upgrade or a change to the model
//! routed a training step around them, the step would still train, only
//! slower. These tests fail instead (the GPU side: `tests/wasm.rs`).
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

use burn::prelude::*;
use reslab::config::ExperimentConfig;
use reslab::data::DatasetKind;

/// No Burn crate is patched or copied: every `burn*` crate in Cargo.lock
/// comes from the registry, so ResLab's speed-ups cannot hang on a
/// `[patch]` that a Burn upgrade would make Cargo ignore with a warning.
#[test]
fn burn_is_built_as_published() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    assert!(!lock.contains("[[patch.unused]]"), "Cargo.lock lists an unused [patch]");
    let burn: Vec<&str> = lock
        .split("[[package]]")
        .filter(|block| block.lines().any(|l| l.trim().starts_with("name = \"burn")))
        .collect();
    assert!(burn.len() > 10, "Burn's crates are in Cargo.lock ({} found)", burn.len());
    for block in burn {
        assert!(block.contains("source = \"registry+"), "a Burn crate not from the registry (a [patch] or a path):\n{block}");
    }
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    assert!(!manifest.contains("[patch"), "Cargo.toml patches a crate");
}

/// One training step of ResNet-8 and of the MNIST CNN on the CPU backend runs
/// ResLab's kernel for every convolution, batch norm and ReLU, both ways.
#[test]
fn a_cpu_training_step_runs_reslabs_kernels() {
    let device = Device::flex().autodiff();
    // (net, its convolutions, those with a bias, batch norms, ReLUs)
    for (id, dataset, convs, biased, bns, relus) in
        [("resnet8", DatasetKind::Cifar10, 7, 0, 7, 7), ("cnn", DatasetKind::Mnist, 2, 2, 0, 3)]
    {
        let cfg = ExperimentConfig { model: id.into(), dataset, ..Default::default() };
        let net = cfg.build_net(&device).unwrap();
        let (c, side) = if dataset == DatasetKind::Mnist { (1, 28) } else { (3, 32) };
        let x = Tensor::<4>::random([2, c, side, side], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let before = reslab_kernels::calls();
        let _grads = net.forward(x).sum().backward();
        let ran = reslab_kernels::calls() - before;
        // Forward and two gradients per convolution (not the first one's
        // input gradient: nothing needs it), its bias gradient, forward and
        // backward per BN and ReLU. Run one at a time: the count is global.
        let want = (3 * convs - 1) + biased + 2 * bns + 2 * relus;
        assert_eq!(ran, want, "{id}: {ran} of ResLab's kernels ran in a training step, want {want}");
    }
}
