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

/// A deterministic picture with structure (not constant, so ReLUs differ by channel).
fn picture(c: usize, side: usize, device: &Device) -> Tensor<4> {
    let v: Vec<f32> = (0..c * side * side).map(|i| ((i * 37 % 101) as f32 / 101.0) - 0.3).collect();
    Tensor::<4>::from_data(burn::tensor::TensorData::new(v, [1, c, side, side]), device)
}

fn scaled_per_channel(values: &[f32], plane: usize) -> Vec<u8> {
    values
        .chunks(plane)
        .flat_map(|ch| {
            let max = ch.iter().cloned().fold(0.0f32, f32::max);
            ch.iter().map(move |v| if max > 0.0 { (v.max(0.0) * 255.0 / max).round() as u8 } else { 0 }).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn feature_maps_follow_each_stage() {
    let device = Device::flex();
    let cases: [(&str, DatasetKind, &[(&str, usize, usize)]); 5] = [
        ("cnn", DatasetKind::Mnist, &[("conv1", 32, 26), ("conv2", 64, 11)]),
        ("resnet20", DatasetKind::Cifar10, &[("conv1", 16, 32), ("stage1", 16, 32), ("stage2", 32, 16), ("stage3", 64, 8)]),
        // Small stem at 28 px (auto): no stride-2 stem, no max-pool.
        ("resnet18", DatasetKind::Mnist, &[("conv1", 64, 28), ("stage1", 64, 28), ("stage2", 128, 14), ("stage3", 256, 7), ("stage4", 512, 4)]),
        ("vgg11", DatasetKind::Cifar10, &[("block1", 64, 32), ("block2", 128, 16), ("block3", 256, 8), ("block4", 512, 4), ("block5", 512, 2)]),
        ("mlp", DatasetKind::Mnist, &[]),
    ];
    for (id, kind, want) in cases {
        let net = cfg(id, kind).build_net(&device).unwrap().valid();
        let maps = pollster::block_on(model::feature_maps(&net, picture(kind.channels(), kind.size(), &device))).unwrap();
        let got: Vec<(&str, usize, usize)> = maps.iter().map(|m| (m.name.as_str(), m.channels, m.height)).collect();
        assert_eq!(got, want, "{id}: stages");
        for m in &maps {
            assert_eq!(m.width, m.height);
            assert_eq!(m.pixels.len(), m.channels * m.height * m.width, "{id} {}", m.name);
            // Each channel is scaled by its own maximum: it reaches 255, or is all zero (dead for this input).
            let lit = m.pixels.chunks(m.height * m.width).filter(|ch| ch.contains(&255)).count();
            let dark = m.pixels.chunks(m.height * m.width).filter(|ch| ch.iter().all(|&v| v == 0)).count();
            assert_eq!(lit + dark, m.channels, "{id} {}: every channel scaled to its maximum", m.name);
            assert!(lit * 4 >= m.channels, "{id} {}: only {lit} of {} channels respond", m.name, m.channels);
        }
    }
    // The maps are the layers' real outputs: the small CNN's first stage is relu(conv1(x)).
    let net = cfg("cnn", DatasetKind::Mnist).build_net(&device).unwrap().valid();
    let x = picture(1, 28, &device);
    let maps = pollster::block_on(model::feature_maps(&net, x.clone())).unwrap();
    let model::Net::Cnn(cnn) = &net else { panic!("cnn builds a Cnn") };
    let direct: Vec<f32> = burn::tensor::activation::relu(cnn.conv1.forward(x)).reshape([32 * 26 * 26]).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    let want = scaled_per_channel(&direct, 26 * 26);
    let worst = want.iter().zip(&maps[0].pixels).map(|(a, b)| (*a as i32 - *b as i32).abs()).max().unwrap();
    assert!(worst <= 1, "cnn conv1 maps differ from relu(conv1(x)) by {worst}");
}

#[test]
fn first_filters_show_the_first_layer() {
    let device = Device::flex();
    let cases = [("cnn", DatasetKind::Mnist, ("conv1", 32, 32, 1, 3)), ("resnet20", DatasetKind::Cifar10, ("conv1", 16, 16, 3, 3)),
        ("resnet18", DatasetKind::Cifar10, ("conv1", 64, 64, 3, 3)), ("mlp", DatasetKind::Mnist, ("fc1", 64, 512, 1, 28))];
    for (id, kind, (name, count, total, channels, side)) in cases {
        let net = cfg(id, kind).build_net(&device).unwrap().valid();
        let f = pollster::block_on(model::first_filters(&net)).unwrap();
        assert_eq!((f.name.as_str(), f.count, f.total, f.channels, f.height, f.width), (name, count, total, channels, side, side), "{id}");
        assert_eq!(f.pixels.len(), count * channels * side * side);
        // Around grey: each filter's largest |weight| is at 1 or 255; random weights of both signs.
        for w in f.pixels.chunks(channels * side * side) {
            assert!(w.iter().any(|&v| v <= 1 || v == 255), "{id}: a filter without its extreme");
        }
        assert!(f.pixels.iter().any(|&v| v < 128) && f.pixels.iter().any(|&v| v > 128), "{id}: all weights of one sign");
    }
    // Sign and order follow the weights: the CNN's filter k is conv1.weight[k].
    let net = cfg("cnn", DatasetKind::Mnist).build_net(&device).unwrap().valid();
    let f = pollster::block_on(model::first_filters(&net)).unwrap();
    let model::Net::Cnn(cnn) = &net else { panic!("cnn builds a Cnn") };
    let w: Vec<f32> = cnn.conv1.weight.val().reshape([32 * 9]).into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
    // Grey (128) is zero, each filter scaled by its own largest |weight|: a
    // weight under half a grey level of that rounds to grey.
    for (filter, pixels) in w.chunks(9).zip(f.pixels.chunks(9)) {
        let max = filter.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (v, p) in filter.iter().zip(pixels) {
            let levels = v.abs() * 127.0 / max;
            if levels > 0.51 {
                assert_eq!(*v > 0.0, *p > 128, "weight {v} drawn as {p}");
            } else if levels < 0.49 {
                assert_eq!(*p, 128, "weight {v} (largest in its filter {max}) drawn as {p}");
            }
        }
    }
}
