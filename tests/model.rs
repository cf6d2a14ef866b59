//! The model zoo against the paper's numbers and independent references.
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

use burn::prelude::*;
use reslab::config::{ExperimentConfig, Shortcut, Stem};
use reslab::data::DatasetKind;
use reslab::model::{self, ModelId, MODEL_IDS};

fn cfg(model: &str, dataset: DatasetKind) -> ExperimentConfig {
    ExperimentConfig { model: model.into(), dataset, ..Default::default() }
}

fn params(c: &ExperimentConfig) -> usize {
    model::describe(&c.model_spec()).unwrap().params
}

#[test]
fn cifar_nets_match_table_6() {
    // Paper, Table 6: parameters of the CIFAR-10 ResNets (option A).
    let table = [("20", 0.27), ("32", 0.46), ("44", 0.66), ("56", 0.85), ("110", 1.7)];
    for (depth, millions) in table {
        let res = params(&cfg(&format!("resnet{depth}"), DatasetKind::Cifar10));
        let plain = params(&cfg(&format!("plain{depth}"), DatasetKind::Cifar10));
        assert_eq!(res, plain, "plain{depth} must have exactly resnet{depth}'s (option A) parameters");
        let digits = if millions < 1.0 { 100.0 } else { 10.0 };
        let rounded = (res as f64 / 1e6 * digits).round() / digits;
        assert_eq!(rounded, millions, "resnet{depth}: {res} parameters");
    }
    assert_eq!(params(&cfg("resnet20", DatasetKind::Cifar10)), 269_722);
}

#[test]
fn option_b_adds_projections() {
    // Two 1x1 projections + BN (16→32, 32→64): 512+64 + 2048+128 = 2,752 more.
    let c = ExperimentConfig { shortcut: Shortcut::B, ..cfg("resnet20", DatasetKind::Cifar10) };
    assert_eq!(params(&c), 269_722 + 2_752);
    // A plain net has no shortcuts, so the option does not change it.
    let p = ExperimentConfig { shortcut: Shortcut::B, ..cfg("plain20", DatasetKind::Cifar10) };
    assert_eq!(params(&p), 269_722);
}

#[test]
fn imagenet_nets_match_torchvision_counts() {
    // torchvision's resnet18/34/50 (projection shortcuts, 7x7 stem) have
    // 11,689,512 / 21,797,672 / 25,557,032 parameters with 1000 classes;
    // with a 10-way classifier the fc loses (fc_in + 1) * 990.
    for (id, thousand_way, fc_in) in [("resnet18", 11_689_512, 512), ("resnet34", 21_797_672, 512), ("resnet50", 25_557_032, 2048)] {
        let c = ExperimentConfig { shortcut: Shortcut::B, stem: Stem::Imagenet, ..cfg(id, DatasetKind::Cifar10) };
        assert_eq!(params(&c), thousand_way - (fc_in + 1) * 990, "{id}");
    }
}

#[test]
fn vgg16_and_cnn_counts() {
    // VGG-16 convs without bias (BN follows): 14,714,688 - 4,224 biases,
    // + BN gamma/beta 2 * 4,224, + fc 512*10+10.
    assert_eq!(params(&cfg("vgg16", DatasetKind::Cifar10)), 14_710_464 + 8_448 + 5_130);
    // Same as the reference harnesses' `mnist-cnn` (225,034).
    assert_eq!(params(&cfg("cnn", DatasetKind::Mnist)), 225_034);
}

#[test]
fn description_shows_shortcuts_and_adds_up() {
    let d = model::describe(&cfg("resnet20", DatasetKind::Cifar10).model_spec()).unwrap();
    assert_eq!(d.edges.len(), 9);
    assert_eq!(d.edges.iter().filter(|e| e.kind == "zero-pad").count(), 2);
    let total: usize = d.layers.iter().map(|l| l.params).sum::<usize>() + d.edges.iter().map(|e| e.params).sum::<usize>();
    assert_eq!(total, d.params);
    // Burn's num_params also counts BN running mean/var (2 per BN channel: 688 channels here).
    let net = cfg("resnet20", DatasetKind::Cifar10).build_net(&Device::flex());
    assert_eq!(net.unwrap().num_params(), d.params + 2 * 688);
    assert_eq!(d.layers.last().unwrap().shape, vec![10]);
    let stage3 = d.layers.iter().find(|l| l.name == "stage3.block1.conv1").unwrap();
    assert_eq!(stage3.shape, vec![64, 8, 8]);
    assert!(d.table().ends_with("params: 269722"));

    let plain = model::describe(&cfg("plain20", DatasetKind::Cifar10).model_spec()).unwrap();
    assert!(plain.edges.is_empty());

    let b = model::describe(&ExperimentConfig { shortcut: Shortcut::B, ..cfg("resnet50", DatasetKind::Cifar10) }.model_spec()).unwrap();
    assert_eq!(b.edges.len(), 16);
    let total: usize = b.layers.iter().map(|l| l.params).sum::<usize>() + b.edges.iter().map(|e| e.params).sum::<usize>();
    assert_eq!(total, b.params);
}

#[test]
fn ids_parse_and_reject() {
    for id in MODEL_IDS {
        ModelId::parse(id).unwrap();
    }
    assert!(ModelId::parse("resnet1202").is_ok());
    let e = ModelId::parse("resnet21").unwrap_err();
    assert!(e.contains("6n+2"), "{e}");
    assert!(ModelId::parse("alexnet").unwrap_err().contains("unknown model"));
    assert!(ModelId::parse("resnet").is_err());
}

#[test]
fn every_model_gives_ten_logits() {
    let device = Device::flex();
    for id in MODEL_IDS {
        for kind in [DatasetKind::Mnist, DatasetKind::Cifar10] {
            if id.ends_with("101") || id.ends_with("152") || id == "resnet1202" {
                continue; // same blocks as a shallower net, only more of them: slow on a CPU
            }
            let c = cfg(id, kind);
            let net = c.build_net(&device).unwrap().valid();
            let x = Tensor::<4>::zeros([2, kind.channels(), kind.size(), kind.size()], &device);
            assert_eq!(net.forward(x).dims(), [2, 10], "{id} on {}", kind.id());
            let d = model::describe(&c.model_spec()).unwrap();
            assert_eq!(d.input, vec![kind.channels(), kind.size(), kind.size()]);
        }
    }
}
