//! ResLab's kernels must really run. Its CPU kernels are a Burn backend
//! extension (`crates/reslab-kernels`): if a Burn upgrade or a change to the
//! model routed a training step around them, the step would still train,
//! only slower. And its GPU kernels for software adapters live, for now, in a
//! patched copy of `burn-cubecl` (`vendor/`, see `vendor/README.md`): if a
//! Burn upgrade made the `[patch.crates-io]` entry stop matching, Cargo would
//! build the crates.io version with only a warning. These tests fail instead.
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

use burn::prelude::*;
use reslab::config::ExperimentConfig;
use reslab::data::DatasetKind;

fn lock_entries(lock: &str, name: &str) -> Vec<String> {
    lock.split("[[package]]")
        .filter(|block| block.lines().any(|l| l.trim() == format!("name = \"{name}\"")))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_vendored_burn_crate_is_the_one_built() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    assert!(!lock.contains("[[patch.unused]]"), "Cargo.lock lists an unused patch: a vendored crate no longer matches Burn's version");
    let entries = lock_entries(&lock, "burn-cubecl");
    assert_eq!(entries.len(), 1, "burn-cubecl: {} entries in Cargo.lock (the vendored copy and a crates.io one?)", entries.len());
    assert!(
        !entries[0].contains("source = "),
        "burn-cubecl comes from a registry, not from vendor/burn-cubecl: the [patch.crates-io] entry no longer applies\n{}",
        entries[0]
    );
    // And the vendored copy is the version the rest of Burn is.
    let version = |block: &str| block.lines().find_map(|l| l.trim().strip_prefix("version = ")).map(str::to_string);
    assert_eq!(version(&entries[0]), version(&lock_entries(&lock, "burn")[0]), "burn-cubecl's version differs from burn's");
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
