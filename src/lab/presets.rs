//! The paper's ablations as ready-made grids, each with the text a class
//! needs: what to look for, the paper's claim, what it costs.
//!
//! Every preset is three layers of config, merged in this order:
//! - `structure`: what the experiment is about and never changes with the
//!   budget (dataset, shortcut, stem, which runs);
//! - the budget's recipe: `classroom` (minutes on the built-in sample), or the
//!   `paper` one (the paper's CIFAR-10 recipe, or a long version of the
//!   classroom plan for the ablations that are not about that recipe);
//! - `smoke` (seconds; an end-to-end check) and the caller's overrides.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::claims::{Claim, Measure, Summary, claim, close};
use super::{Grid, PlannedRun, check_fields};
use crate::config::ExperimentConfig;

/// How long a preset runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Two steps on 64 images: checks that everything runs, in seconds.
    Smoke,
    /// Minutes on a GPU with the built-in samples; the text's default.
    Classroom,
    /// The paper's recipe (or the long version); needs the full datasets.
    Paper,
}

impl Budget {
    pub fn parse(s: &str) -> Result<Budget, String> {
        match s {
            "smoke" => Ok(Budget::Smoke),
            "classroom" | "" => Ok(Budget::Classroom),
            "paper" => Ok(Budget::Paper),
            _ => Err(format!("budget: unknown budget '{s}' (smoke, classroom or paper)")),
        }
    }
}

/// How the page tabulates a preset's results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableKind {
    /// One row per run.
    Runs,
    /// Rows: optimizers; columns: datasets; cells: test accuracy.
    OptimizerByDataset,
}

/// A number from the paper to compare a run with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reference {
    /// Partial config fields identifying the run(s), e.g. `{"model": "resnet20"}`.
    #[serde(rename = "match")]
    pub matches: Map<String, Value>,
    /// Where the number comes from, e.g. "paper Table 6".
    pub label: String,
    /// Test error in percent, or null where the paper gives a figure, not a number.
    pub test_error: Option<f64>,
    pub note: String,
}

/// Serialises as `{"id","title","summary","look_for","budget_note","table","reference","claims","follows_data"}`.
#[derive(Clone, Debug, Serialize)]
pub struct Preset {
    pub id: &'static str,
    pub title: &'static str,
    /// One sentence.
    pub summary: &'static str,
    /// What to look for, and the paper's claim (2-4 sentences).
    pub look_for: &'static str,
    /// The classroom budget and what the other budgets mean.
    pub budget_note: &'static str,
    pub table: TableKind,
    pub reference: Vec<Reference>,
    /// What the text tells a class it will see, as checks on the results
    /// (`reslab report --preset`, the page's study box, docs/STUDIES.md).
    pub claims: Vec<Claim>,
    /// The study runs on whatever data is loaded (the caller's overrides say
    /// which: `dataset`, and `image_size`/`classes` for your pictures) and
    /// picks its nets by the input size ([`nets_for_size`]).
    pub follows_data: bool,
    #[serde(skip)]
    plan: Plan,
}

/// What a preset runs (see the module comment for the layers).
#[derive(Clone, Debug)]
struct Plan {
    structure: Map<String, Value>,
    classroom: Map<String, Value>,
    paper: Paper,
    runs: Option<Vec<Map<String, Value>>>,
    grid: Vec<(String, Vec<Value>)>,
}

#[derive(Clone, Debug)]
enum Paper {
    /// `ExperimentConfig::paper_cifar` (Sec. 4.2): batch 128, lr 0.1 ÷10 at
    /// 32k and 48k, 64k steps, weight decay 1e-4, momentum 0.9, 45k/5k split,
    /// augmentation; the structure and the runs on top.
    CifarRecipe,
    /// The classroom plan with these fields on top (epochs on the full data).
    Long(Map<String, Value>),
}

/// What "smoke" sets on top of the classroom plan.
fn smoke() -> Map<String, Value> {
    obj(json!({"batch_size": 8, "max_steps": 2, "train_limit": 64, "test_limit": 32, "val_size": 16, "log_every": 1}))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("preset literals are objects"),
    }
}

fn runs(v: Value) -> Option<Vec<Map<String, Value>>> {
    Some(v.as_array().expect("preset runs are an array").iter().cloned().map(obj).collect())
}

/// One grid axis.
fn axis(field: &str, values: Value) -> Vec<(String, Vec<Value>)> {
    vec![(field.into(), values.as_array().expect("axis values are an array").clone())]
}

fn reference(matches: Value, label: &str, test_error: Option<f64>, note: &str) -> Reference {
    Reference { matches: obj(matches), label: label.into(), test_error, note: note.into() }
}

/// The momentum-SGD recipe of the paper's CIFAR-10 experiments, shortened:
/// multistep ÷10 at 50% and 75% of `steps`.
fn sgd_recipe(steps: usize, batch: usize) -> Map<String, Value> {
    obj(json!({
        "optimizer": "momentum", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
        "schedule": "multistep", "milestones": [steps / 2, steps * 3 / 4], "gamma": 0.1,
        "batch_size": batch, "max_steps": steps, "augment": true,
    }))
}

/// The classroom plan of the CIFAR-10 depth studies: 500 steps at batch 64
/// on the 1,800 training images of the built-in sample (val 200).
///
/// Deviation from the paper's lr 0.1 (at batch 128; 0.05 at batch 64 by the
/// linear scaling rule): 0.02. On 1,800 images the 56-layer nets do not
/// survive a start at 0.05-0.1: ResNet-56's loss averages 2.7-3.0 over the
/// first 50 steps and it ends far behind ResNet-20 (1.62 vs 1.33 at 0.05),
/// which would teach that shortcuts do not help. The paper met the same wall
/// with ResNet-110 and started it at 0.01. At 0.02 ResNet-56 trains (1.45)
/// while plain-56 still stalls (2.25): the lesson of Fig. 6. Numbers per
/// rate: docs/STUDIES.md.
fn short_cifar_recipe() -> Map<String, Value> {
    let mut m = sgd_recipe(500, 64);
    m.insert("lr".into(), json!(0.02));
    m.insert("val_size".into(), json!(200));
    m
}

pub fn presets() -> Vec<Preset> {
    let table6 = "paper Table 6";
    vec![
        Preset {
            id: "degradation",
            title: "Plain vs residual: the degradation problem (Fig. 6)",
            summary: "Train plain and residual nets of 20 and 56 layers on CIFAR-10 and compare the deeper with the shallower.",
            look_for: "Compare the training loss of plain-56 with plain-20: the deeper plain net ends HIGHER, although it could \
                copy plain-20 and set its extra layers to identity, so the problem is optimisation, not overfitting (the paper's \
                Fig. 6, left). Then compare plain-56 with ResNet-56: the same 56 layers with shortcuts train normally, and going \
                from 20 to 56 layers costs the residual nets far less than the plain ones. The paper's last step, ResNet-56 \
                ahead of ResNet-20 (6.97% vs 8.75% test error), needs its full 64k-step schedule: in this short run ResNet-56 \
                is still level with or slightly behind ResNet-20.",
            budget_note: "Classroom: 4 runs × 500 steps at batch 64 on the CIFAR-10 sample, learning rate 0.02, ÷10 at steps 250 \
                and 375 (the page measures this machine's speed and says how long that takes here). \
                Paper: the paper's recipe, 64k steps each on the full CIFAR-10 (45k/5k split), which needs the full dataset and a good GPU.",
            table: TableKind::Runs,
            reference: vec![
                reference(json!({"model": "resnet20"}), table6, Some(8.75), "ResNet-20, full 64k-step recipe"),
                reference(json!({"model": "resnet56"}), table6, Some(6.97), "ResNet-56, full 64k-step recipe"),
                reference(json!({"model": "plain20"}), "paper Fig. 6 (left)", None, "Fig. 6 shows plain-56 with higher training AND test error than plain-20; no number is given"),
                reference(json!({"model": "plain56"}), "paper Fig. 6 (left)", None, "Fig. 6 shows plain-56 with higher training AND test error than plain-20; no number is given"),
            ],
            claims: vec![
                claim("The deeper plain net trains worse: plain-56 ends with a higher training loss than plain-20.", Measure::FinalTrainLoss, Summary::Mean, json!({"model": "plain20"}), json!({"model": "plain56"}), 0.1),
                claim("Shortcuts fix the deep net: ResNet-56 ends with a lower training loss than plain-56.", Measure::FinalTrainLoss, Summary::Mean, json!({"model": "resnet56"}), json!({"model": "plain56"}), 0.1),
                claim("Depth costs the plain nets far more than the residual ones: the training-loss gap between 20 and 56 layers is wider without shortcuts.", Measure::FinalTrainLoss, Summary::Range, json!({"model": ["resnet20", "resnet56"]}), json!({"model": ["plain20", "plain56"]}), 0.2),
                claim("The same shows on the test set: ResNet-56 reaches a higher test accuracy than plain-56.", Measure::TestAccuracy, Summary::Mean, json!({"model": "plain56"}), json!({"model": "resnet56"}), 0.05),
            ],
            follows_data: false,
            plan: Plan {
                structure: obj(json!({"dataset": "cifar10", "shortcut": "a"})),
                classroom: short_cifar_recipe(),
                paper: Paper::CifarRecipe,
                runs: None,
                grid: axis("model", json!(["plain20", "plain56", "resnet20", "resnet56"])),
            },
        },
        Preset {
            id: "depth",
            title: "Deeper residual nets (Table 6)",
            summary: "Train ResNet-20, 32, 44 and 56 on CIFAR-10 and see what more depth costs and buys.",
            look_for: "With shortcuts, depth keeps paying over the paper's full schedule: test errors fall from 8.75% (20 layers) \
                to 7.51%, 7.17% and 6.97% (56 layers). A short run shows the first half of that story: unlike plain nets (see \
                the degradation study), the deeper residual nets train about as well as ResNet-20, with training losses close \
                together, while each step costs more the deeper the net. They do not pull ahead yet: that takes tens of \
                thousands of steps.",
            budget_note: "Classroom: 4 runs × 500 steps at batch 64 on the CIFAR-10 sample, learning rate 0.02, ÷10 at steps 250 \
                and 375 (the page measures this machine's speed and says how long that takes here). \
                Paper: the paper's recipe, 64k steps each on the full CIFAR-10.",
            table: TableKind::Runs,
            reference: vec![
                reference(json!({"model": "resnet20"}), table6, Some(8.75), "full 64k-step recipe"),
                reference(json!({"model": "resnet32"}), table6, Some(7.51), "full 64k-step recipe"),
                reference(json!({"model": "resnet44"}), table6, Some(7.17), "full 64k-step recipe"),
                reference(json!({"model": "resnet56"}), table6, Some(6.97), "full 64k-step recipe"),
            ],
            claims: vec![
                close("With shortcuts, depth costs little in training: ResNet-56 ends within 0.2 of ResNet-20's training loss.", Measure::FinalTrainLoss, json!({"model": "resnet20"}), json!({"model": "resnet56"}), 0.2),
                close("With shortcuts, depth costs little on the test set either: ResNet-56's test accuracy is within 3 points of ResNet-20's.", Measure::TestAccuracy, json!({"model": "resnet20"}), json!({"model": "resnet56"}), 0.03),
            ],
            follows_data: false,
            plan: Plan {
                structure: obj(json!({"dataset": "cifar10", "shortcut": "a"})),
                classroom: short_cifar_recipe(),
                paper: Paper::CifarRecipe,
                runs: None,
                grid: axis("model", json!(["resnet20", "resnet32", "resnet44", "resnet56"])),
            },
        },
        Preset {
            id: "optimizers",
            title: "Optimizers on MNIST and CIFAR-10",
            summary: "Train ResNet-20 with Adam, Adagrad, RMSprop, plain SGD and momentum SGD on MNIST and on CIFAR-10.",
            look_for: "Read the table across: the optimizers end close together on MNIST, which every one of them learns, \
                and far apart on CIFAR-10, the harder dataset. In a run this short the adaptive methods (Adam, Adagrad, \
                RMSprop) are ahead of plain and momentum SGD. The paper itself uses momentum SGD (0.9) for every net: \
                with a decaying rate and a full schedule it tends to catch up, which a short run does not show.",
            budget_note: "Classroom: 10 runs (5 optimizers × 2 datasets) × 300 steps at batch 64 on the built-in samples \
                (the page measures this machine's speed and says how long that takes here). \
                Paper: there is no paper recipe for this ablation; it means the long version, 10 epochs on the full datasets.",
            table: TableKind::OptimizerByDataset,
            reference: vec![],
            claims: vec![
                claim("The choice of optimizer matters more on CIFAR-10: the test accuracies spread wider there than on MNIST.", Measure::TestAccuracy, Summary::Range, json!({"dataset": "mnist"}), json!({"dataset": "cifar10"}), 0.05),
                claim("In a short run the adaptive methods are ahead: on CIFAR-10, Adam, Adagrad and RMSprop reach a higher test accuracy than plain and momentum SGD, on average.", Measure::TestAccuracy, Summary::Mean, json!({"dataset": "cifar10", "optimizer": ["sgd", "momentum"]}), json!({"dataset": "cifar10", "optimizer": ["adam", "adagrad", "rmsprop"]}), 0.03),
            ],
            follows_data: false,
            plan: Plan {
                structure: obj(json!({"model": "resnet20"})),
                classroom: obj(json!({"batch_size": 64, "max_steps": 300})),
                paper: Paper::Long(obj(json!({"max_steps": null, "epochs": 10}))),
                runs: runs(json!([
                    {"optimizer": "adam", "lr": 1e-3},
                    {"optimizer": "adagrad", "lr": 1e-2},
                    {"optimizer": "rmsprop", "lr": 1e-3},
                    {"optimizer": "sgd", "lr": 0.1},
                    {"optimizer": "momentum", "lr": 0.1, "momentum": 0.9},
                ])),
                grid: axis("dataset", json!(["mnist", "cifar10"])),
            },
        },
        Preset {
            id: "learning-rate",
            title: "Learning rate with Adam, early stopping",
            summary: "Train ResNet-20 on CIFAR-10 with Adam at learning rates 1e-2, 1e-3 and 1e-4, stopping when the validation loss stops improving.",
            look_for: "Too large a rate makes the loss noisy or stall high; too small a rate learns slowly and is stopped early \
                while still improving on the training set. Compare the validation curves and the epoch at which each run \
                stops (patience 2: two epochs without a better validation loss).",
            budget_note: "Classroom: 3 runs of up to 15 epochs (about 30 steps each at batch 64 on the 2,000-image CIFAR-10 sample, \
                200 held out for validation); early stopping usually ends them sooner \
                (the page measures this machine's speed and says how long that takes here at most). Paper: no paper recipe for this; the long version runs up to 50 epochs on the full CIFAR-10.",
            table: TableKind::Runs,
            reference: vec![],
            claims: vec![
                claim("Too small a rate learns slowly: lr 1e-4 ends with a higher training loss than 1e-3.", Measure::FinalTrainLoss, Summary::Mean, json!({"lr": 0.001}), json!({"lr": 0.0001}), 0.1),
                claim("Too large a rate does worse: lr 1e-2 ends with a lower test accuracy than 1e-3.", Measure::TestAccuracy, Summary::Mean, json!({"lr": 0.01}), json!({"lr": 0.001}), 0.03),
            ],
            follows_data: false,
            plan: Plan {
                structure: obj(json!({"dataset": "cifar10", "model": "resnet20", "optimizer": "adam"})),
                classroom: obj(json!({"batch_size": 64, "epochs": 15, "patience": 2, "val_size": 200})),
                paper: Paper::Long(obj(json!({"epochs": 50, "val_size": 5000}))),
                runs: None,
                grid: axis("lr", json!([1e-2, 1e-3, 1e-4])),
            },
        },
        Preset {
            id: "batchnorm",
            title: "BatchNorm momentum and epsilon: PyTorch vs Keras defaults",
            summary: "Train ResNet-20 on CIFAR-10 twice, once with PyTorch/Burn's BatchNorm defaults and once with Keras' defaults.",
            look_for: "The convention here: bn_momentum is the weight of the NEW batch in the running statistics (PyTorch/Burn), \
                so Keras' momentum=0.99 is 0.01 here. With 0.01 the running mean and variance used at evaluation time follow \
                the changing weights slowly, so early in training the validation/test accuracy can lag far behind the \
                training accuracy; the larger epsilon (1e-3) matters little. The paper uses BN after every convolution but \
                does not discuss these settings.",
            budget_note: "Classroom: 2 runs × 400 steps at batch 64 on the CIFAR-10 sample \
                (the page measures this machine's speed and says how long that takes here). Paper: no paper recipe for this; the long version runs 20 epochs \
                on the full CIFAR-10.",
            table: TableKind::Runs,
            reference: vec![],
            claims: vec![
                claim("With Keras' momentum (0.01 here) the validation accuracy lags further behind the training accuracy, epoch by epoch.", Measure::TrainValLag, Summary::Mean, json!({"bn_momentum": 0.1}), json!({"bn_momentum": 0.01}), 0.05),
            ],
            follows_data: false,
            plan: Plan {
                structure: obj(json!({"dataset": "cifar10", "model": "resnet20"})),
                classroom: {
                    let mut m = sgd_recipe(400, 64);
                    m.insert("val_size".into(), json!(200));
                    m
                },
                paper: Paper::Long(obj(json!({"max_steps": null, "epochs": 20, "milestones": [7800, 11700]}))),
                runs: runs(json!([
                    {"bn_momentum": 0.1, "bn_epsilon": 1e-5},
                    {"bn_momentum": 0.01, "bn_epsilon": 1e-3},
                ])),
                grid: vec![],
            },
        },
        Preset {
            id: "resnet34-vs-50",
            title: "ResNet-34 vs ResNet-50 and their plain twins (Tables 2 and 3)",
            summary: "Train the ImageNet nets ResNet-34, ResNet-50, plain-34 and plain-50 (their ImageNet stem, projection shortcuts) on CIFAR-10.",
            look_for: "On ImageNet the paper finds plain-34 worse than plain-18 while ResNet-34 beats ResNet-18, and the bottleneck \
                ResNet-50 better still (Tables 2 and 3). In a short run on small images the first half shows plainly: the plain \
                34- and 50-layer nets hardly learn (test accuracy near chance) while their residual twins do. The bottleneck \
                ResNet-50 starts rougher (its first losses are far above chance) and is still behind ResNet-34 after 300 steps; \
                the paper's ranking needs its 600k iterations on ImageNet. The reference numbers are ImageNet top-1 errors, \
                shown for direction only.",
            budget_note: "Classroom: 4 runs × 300 steps at batch 64 on the CIFAR-10 sample, learning rate 0.02, ÷10 at steps 150 \
                and 225. These nets keep their ImageNet stem (7×7 stride-2 convolution and max-pool), which shrinks the 32-px \
                images to 8×8 before the first stage, as it shrinks ImageNet's 224 px to 56: with the small CIFAR stem a step \
                costs about 15 times more, hours in a browser (the page measures this machine's speed and says how long the plan \
                takes here). Paper: the paper's CIFAR-10 recipe (64k steps at batch 128) applied to these nets with the stem \
                chosen by image size (small on CIFAR-10); needs the full CIFAR-10 and a good GPU.",
            table: TableKind::Runs,
            reference: vec![
                reference(json!({"model": "plain34"}), "paper Table 2", Some(28.54), "ImageNet top-1 error (10-crop); shown for direction only"),
                reference(json!({"model": "resnet34"}), "paper Table 2", Some(25.03), "ImageNet top-1 error (10-crop); shown for direction only"),
                reference(json!({"model": "resnet50"}), "paper Table 3", Some(22.85), "ImageNet top-1 error (10-crop); shown for direction only"),
            ],
            claims: vec![
                claim("Shortcuts help at 34 layers: ResNet-34 ends with a lower training loss than plain-34.", Measure::FinalTrainLoss, Summary::Mean, json!({"model": "resnet34"}), json!({"model": "plain34"}), 0.1),
                claim("Shortcuts help at 34 layers on the test set too: ResNet-34 reaches a higher test accuracy than plain-34.", Measure::TestAccuracy, Summary::Mean, json!({"model": "plain34"}), json!({"model": "resnet34"}), 0.05),
                claim("Shortcuts help at 50 layers: ResNet-50 reaches a higher test accuracy than plain-50.", Measure::TestAccuracy, Summary::Mean, json!({"model": "plain50"}), json!({"model": "resnet50"}), 0.05),
            ],
            follows_data: false,
            plan: Plan {
                // Option B: the paper uses projections where shapes change for the ImageNet nets.
                structure: obj(json!({"dataset": "cifar10", "shortcut": "b", "stem": "auto"})),
                // The ImageNet stem in the classroom plan only: see the budget note. lr 0.02 as in
                // short_cifar_recipe: at 0.1 ResNet-50's loss was 33 after 30 steps.
                classroom: {
                    let mut m = sgd_recipe(300, 64);
                    m.insert("lr".into(), json!(0.02));
                    m.insert("val_size".into(), json!(200));
                    m.insert("stem".into(), json!("imagenet"));
                    m
                },
                paper: Paper::CifarRecipe,
                runs: None,
                grid: axis("model", json!(["resnet34", "resnet50", "plain34", "plain50"])),
            },
        },
        Preset {
            id: "own-images",
            title: "Plain vs residual on your own images",
            summary: "Train plain and residual nets of the same depth on the data loaded now (your pictures, or a standard set) \
                and see whether the shortcuts' advantage carries over.",
            look_for: "The degradation study asked whether shortcuts make deep nets trainable on CIFAR-10; this one asks it of \
                your data. Compare each plain net with its residual twin (same depth, same parameters but the shortcuts): the \
                residual net should reach a lower training loss, and usually a higher test accuracy. With few pictures per \
                class the test accuracy is noisy: a few pictures decide a point. Open a run's details for the confusion \
                matrix, and \"Use the net\" to try it on a picture of your own.",
            budget_note: "The nets follow the image size: at 32 px and less, the paper's CIFAR nets plain-20/56 and \
                ResNet-20/56 (option A shortcuts); above, the ImageNet layout's plain-18 and ResNet-18 (projection shortcuts, \
                the stem chosen by size). Classroom: 300 steps at batch 32, learning rate 0.02 with momentum, ÷10 at steps 150 \
                and 225, augmentation on (the page measures this machine's speed and says how long that takes here; at 128 px \
                and more a step costs many times a CIFAR step). Paper: 30 epochs with a cosine schedule.",
            table: TableKind::Runs,
            reference: vec![],
            claims: vec![
                claim("Shortcuts help on this data: the residual nets end with a lower training loss than their plain twins.", Measure::FinalTrainLoss, Summary::Mean, json!({"model": ["resnet18", "resnet20", "resnet56"]}), json!({"model": ["plain18", "plain20", "plain56"]}), 0.05),
                claim("And on its test set: the residual nets reach a higher test accuracy than their plain twins.", Measure::TestAccuracy, Summary::Mean, json!({"model": ["plain18", "plain20", "plain56"]}), json!({"model": ["resnet18", "resnet20", "resnet56"]}), 0.02),
            ],
            plan: Plan {
                structure: Map::new(),
                classroom: {
                    let mut m = sgd_recipe(300, 32);
                    m.insert("lr".into(), json!(0.02));
                    m
                },
                paper: Paper::Long(obj(json!({"max_steps": null, "epochs": 30, "schedule": "cosine", "milestones": []}))),
                runs: None,
                grid: vec![],
            },
            follows_data: true,
        },
    ]
}

pub fn preset(id: &str) -> Result<Preset, String> {
    presets().into_iter().find(|p| p.id == id).ok_or_else(|| {
        let ids: Vec<&str> = presets().iter().map(|p| p.id).collect();
        format!("unknown preset '{id}' (one of: {})", ids.join(", "))
    })
}

/// Fields that set a run's length, multiplied by `scale`.
fn scale_length(m: &mut Map<String, Value>, scale: f64) {
    let times = |v: &Value| v.as_f64().map(|x| json!(((x * scale).round() as u64).max(1)));
    for k in ["max_steps", "epochs"] {
        if let Some(v) = m.get(k).and_then(times) {
            m.insert(k.into(), v);
        }
    }
    if let Some(Value::Array(ms)) = m.get("milestones") {
        let scaled: Vec<Value> = ms.iter().filter_map(times).collect();
        m.insert("milestones".into(), Value::Array(scaled));
    }
}

/// A preset's runs for a budget. `scale` (0.1 to 100) multiplies the
/// classroom run length (steps, epochs, milestones; rounded, at least 1);
/// `overrides` is a partial config applied last to every run (e.g. `--data`
/// limits, or tests shrinking things).
pub fn expand_preset(id: &str, budget: Budget, scale: f64, overrides: &Map<String, Value>) -> Result<Vec<PlannedRun>, String> {
    let p = preset(id)?;
    if !(scale.is_finite() && (0.1..=100.0).contains(&scale)) {
        return Err(format!("scale must be between 0.1 and 100 (got {scale})"));
    }
    check_fields("overrides", overrides)?;
    let plan = p.plan;
    let mut base = plan.structure.clone();
    match (&plan.paper, budget) {
        (Paper::CifarRecipe, Budget::Paper) => {
            let recipe = match serde_json::to_value(ExperimentConfig::paper_cifar("resnet20")) {
                Ok(Value::Object(m)) => m,
                _ => unreachable!("the config serialises to an object"),
            };
            base = recipe;
            base.extend(plan.structure.clone());
        }
        (Paper::Long(long), Budget::Paper) => {
            base.extend(plan.classroom.clone());
            base.extend(long.clone());
        }
        _ => base.extend(plan.classroom.clone()),
    }
    let mut grid = plan.grid;
    if p.follows_data {
        let (models, fields) = nets_for_size(data_size(overrides)?);
        grid = axis("model", models);
        base.extend(fields);
    }
    let grid = Grid { name: Some(p.title.into()), base, runs: plan.runs, grid };
    grid.expand_with(|m| {
        match budget {
            Budget::Classroom if scale != 1.0 => scale_length(m, scale),
            Budget::Smoke => m.extend(smoke()),
            _ => {}
        }
        m.extend(overrides.clone());
    })
}

/// The nets of a study that follows the data, and their shortcut fields:
/// the CIFAR nets at 32 px and less (where the paper ran them), ResNet-18
/// and plain-18 above.
fn nets_for_size(size: usize) -> (Value, Map<String, Value>) {
    if size <= 32 {
        (json!(["plain20", "plain56", "resnet20", "resnet56"]), obj(json!({"shortcut": "a"})))
    } else {
        (json!(["plain18", "resnet18"]), obj(json!({"shortcut": "b", "stem": "auto"})))
    }
}

/// The input side of the data the overrides name (the default config's dataset if none).
fn data_size(overrides: &Map<String, Value>) -> Result<usize, String> {
    let mut m = super::default_object();
    m.extend(overrides.clone());
    let cfg = ExperimentConfig::from_json(&Value::Object(m).to_string()).map_err(|e| format!("overrides: {e}"))?;
    Ok(cfg.input_size())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Shortcut, Stem};
    use crate::data::DatasetKind;

    const BUDGETS: [Budget; 3] = [Budget::Smoke, Budget::Classroom, Budget::Paper];

    #[test]
    fn every_preset_expands_to_valid_configs_for_every_budget() {
        let ps = presets();
        assert_eq!(ps.iter().map(|p| p.id).collect::<Vec<_>>(), ["degradation", "depth", "optimizers", "learning-rate", "batchnorm", "resnet34-vs-50", "own-images"]);
        for p in &ps {
            for b in BUDGETS {
                for scale in [0.1, 1.0, 3.0] {
                    let runs = expand_preset(p.id, b, scale, &Map::new()).unwrap_or_else(|e| panic!("{} {b:?}: {e}", p.id));
                    assert!(!runs.is_empty());
                    for r in &runs {
                        assert!(r.config.validate().is_empty(), "{} {b:?} {}", p.id, r.label);
                    }
                    let mut labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
                    labels.sort();
                    labels.dedup();
                    assert_eq!(labels.len(), runs.len(), "{}: labels are distinct", p.id);
                }
            }
            // References name runs that exist.
            let runs = expand_preset(p.id, Budget::Classroom, 1.0, &Map::new()).unwrap();
            for r in &p.reference {
                let hits = runs.iter().filter(|run| {
                    let c = serde_json::to_value(&run.config).unwrap();
                    r.matches.iter().all(|(k, v)| &c[k] == v)
                });
                assert!(hits.count() > 0, "{}: reference {:?} matches no run", p.id, r.matches);
            }
        }
    }

    #[test]
    fn own_images_follows_the_loaded_data_and_its_size() {
        let pets = obj(json!({"dataset": "images", "image_size": 64, "classes": 2, "image_fit": "pad"}));
        let runs = expand_preset("own-images", Budget::Classroom, 1.0, &pets).unwrap();
        assert_eq!(runs.iter().map(|r| r.config.model.as_str()).collect::<Vec<_>>(), ["plain18", "resnet18"]);
        for r in &runs {
            let c = &r.config;
            assert_eq!((c.dataset, c.image_size, c.num_classes(), c.shortcut, c.stem), (DatasetKind::Images, 64, 2, Shortcut::B, Stem::Auto));
            assert_eq!((c.batch_size, c.max_steps, c.augment, &c.milestones[..]), (32, Some(300), Some(true), &[150, 225][..]));
        }
        // Small pictures and the standard sets get the paper's CIFAR nets.
        for data in [json!({"dataset": "images", "image_size": 32, "classes": 5}), json!({"dataset": "cifar10"}), json!({"dataset": "mnist"})] {
            let runs = expand_preset("own-images", Budget::Classroom, 1.0, &obj(data.clone())).unwrap();
            assert_eq!(runs.iter().map(|r| r.config.model.as_str()).collect::<Vec<_>>(), ["plain20", "plain56", "resnet20", "resnet56"], "{data}");
            assert!(runs.iter().all(|r| r.config.shortcut == Shortcut::A && serde_json::to_value(r.config.dataset).unwrap() == data["dataset"]));
        }
        // Bad data settings are the overrides' error, not a panic.
        let e = expand_preset("own-images", Budget::Classroom, 1.0, &obj(json!({"dataset": "images", "image_size": 33, "classes": 2}))).unwrap_err();
        assert!(e.contains("image_size"), "{e}");
    }

    #[test]
    fn degradation_is_four_cifar_runs_with_the_paper_schedule() {
        let runs = expand_preset("degradation", Budget::Classroom, 1.0, &Map::new()).unwrap();
        let models: Vec<&str> = runs.iter().map(|r| r.config.model.as_str()).collect();
        assert_eq!(models, ["plain20", "plain56", "resnet20", "resnet56"]);
        assert_eq!(runs.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(), models);
        for r in &runs {
            let c = &r.config;
            assert_eq!((c.dataset, c.shortcut, c.batch_size, c.max_steps, c.val_size), (DatasetKind::Cifar10, Shortcut::A, 64, Some(500), 200));
            assert_eq!((c.lr, c.momentum, c.weight_decay, c.augment), (0.02, 0.9, 1e-4, Some(true)));
            assert_eq!(c.milestones, [250, 375]);
        }
        // Scale: run length and milestones, nothing else.
        let half = expand_preset("degradation", Budget::Classroom, 0.5, &Map::new()).unwrap();
        assert_eq!((half[0].config.max_steps, &half[0].config.milestones[..], half[0].config.batch_size), (Some(250), &[125, 188][..], 64));
        // Paper: the full recipe, with the preset's shortcut.
        let paper = expand_preset("degradation", Budget::Paper, 1.0, &Map::new()).unwrap();
        let mut want = ExperimentConfig::paper_cifar("resnet56");
        want.shortcut = Shortcut::A;
        assert_eq!(paper[3].config, want);
    }

    #[test]
    fn smoke_and_overrides_apply_to_every_run() {
        let runs = expand_preset("degradation", Budget::Smoke, 1.0, &Map::new()).unwrap();
        assert_eq!(runs.len(), 4);
        for r in &runs {
            let c = &r.config;
            assert_eq!((c.batch_size, c.max_steps, c.train_limit, c.test_limit, c.val_size, c.log_every), (8, Some(2), Some(64), Some(32), 16, 1));
            assert_eq!(c.lr, 0.02, "the rest of the classroom plan stays");
        }
        let o = obj(json!({"max_steps": 1, "train_limit": 40}));
        let runs = expand_preset("optimizers", Budget::Smoke, 1.0, &o).unwrap();
        assert_eq!(runs.len(), 10);
        assert!(runs.iter().all(|r| r.config.max_steps == Some(1) && r.config.train_limit == Some(40)));
        assert_eq!(runs[0].label, "mnist · adam · lr 0.001");
        assert_eq!(runs[9].label, "cifar10 · momentum · lr 0.1");
    }

    #[test]
    fn bad_arguments_are_named() {
        assert!(expand_preset("nope", Budget::Smoke, 1.0, &Map::new()).unwrap_err().starts_with("unknown preset 'nope'"));
        assert_eq!(expand_preset("depth", Budget::Classroom, 0.0, &Map::new()).unwrap_err(), "scale must be between 0.1 and 100 (got 0)");
        assert_eq!(expand_preset("depth", Budget::Classroom, 1.0, &obj(json!({"lrr": 1}))).unwrap_err(), "overrides.lrr: unknown config field");
        let e = expand_preset("depth", Budget::Classroom, 1.0, &obj(json!({"lr": -1}))).unwrap_err();
        assert!(e.starts_with("run 1 (resnet20): lr:"), "{e}");
        assert!(Budget::parse("huge").unwrap_err().contains("smoke, classroom or paper"));
    }

    #[test]
    fn the_imagenet_nets_keep_their_stem_in_class_and_pick_it_by_size_for_the_paper() {
        let class = expand_preset("resnet34-vs-50", Budget::Classroom, 1.0, &Map::new()).unwrap();
        let paper = expand_preset("resnet34-vs-50", Budget::Paper, 1.0, &Map::new()).unwrap();
        for (c, p) in class.iter().zip(&paper) {
            assert_eq!((c.config.stem, c.config.shortcut, c.config.lr, c.config.max_steps), (Stem::Imagenet, Shortcut::B, 0.02, Some(300)));
            assert_eq!((p.config.stem, p.config.shortcut, p.config.lr, p.config.batch_size), (Stem::Auto, Shortcut::B, 0.1, 128));
        }
    }

    #[test]
    fn every_claim_compares_runs_the_classroom_plan_makes() {
        for p in presets() {
            let runs = expand_preset(p.id, Budget::Classroom, 1.0, &Map::new()).unwrap();
            let configs: Vec<Map<String, Value>> = runs.iter().map(|r| obj(serde_json::to_value(&r.config).unwrap())).collect();
            assert!(!p.claims.is_empty(), "{}: a study says what a class will see", p.id);
            for c in &p.claims {
                for side in [&c.low, &c.high] {
                    assert!(configs.iter().any(|cfg| super::super::claims::matches(cfg, side)), "{}: no run matches {side:?} ({})", p.id, c.text);
                }
                assert!(!configs.iter().any(|cfg| super::super::claims::matches(cfg, &c.low) && super::super::claims::matches(cfg, &c.high)), "{}: a run on both sides", p.id);
            }
        }
    }

    #[test]
    fn presets_serialise_with_the_documented_fields() {
        let v = serde_json::to_value(presets()).unwrap();
        let keys: Vec<&String> = v[0].as_object().unwrap().keys().collect(); // sorted
        assert_eq!(keys, ["budget_note", "claims", "follows_data", "id", "look_for", "reference", "summary", "table", "title"]);
        assert_eq!(v[0]["reference"][0], json!({"match": {"model": "resnet20"}, "label": "paper Table 6", "test_error": 8.75, "note": "ResNet-20, full 64k-step recipe"}));
        assert_eq!(v[2]["table"], "optimizer-by-dataset");
        assert_eq!(v[2]["reference"], json!([]));
    }
}
