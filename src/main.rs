//! `reslab`: the same experiments as the page, natively.
//!
//!   reslab describe resnet20
//!   reslab train --model resnet20 --dataset cifar10 --epochs 1 --out run.json
//!   reslab train --config experiment.json --data ~/datasets/cifar-10-binary.tar.gz
//!   reslab train --preset degradation --budget smoke --out runs/
//!   reslab train --grid my-grid.json --out runs/
//!   reslab train --grid my-grid.json --shard 2/10 --out runs/   # runs 3, 13, 23, … of the grid
//!   reslab report runs/ --csv
//!   reslab train --model resnet20 --dataset cifar10 --save-model r20.reslab
//!   reslab eval --model r20.reslab

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use reslab::backend::{self, BackendKind};
use reslab::config::{ExperimentConfig, OptimizerKind, Schedule, Shortcut, Stem};
use reslab::data::{self, Dataset, DatasetKind};
use reslab::lab::{self, Budget, PlannedRun, Shard};
use reslab::model;
use reslab::report;
use reslab::train::{self, Control, Event, RunResult, Status};
use serde::Serialize;
use serde_json::{Map, Value, json};

#[derive(Parser)]
#[command(name = "reslab", version, about = "Train the ResNet paper's nets and ablations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a model's layers (output shape, parameters); last line `params: N`.
    Describe {
        model: String,
        #[arg(long, default_value = "cifar10")]
        dataset: String,
        #[arg(long, value_parser = ["a", "b"])]
        shortcut: Option<String>,
        #[arg(long, value_parser = ["auto", "imagenet", "small"])]
        stem: Option<String>,
        /// Print the description as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the model ids.
    Models,
    /// List the presets (the paper's ablations as ready-made grids).
    Presets {
        /// Print them as JSON (with their texts and reference numbers).
        #[arg(long)]
        json: bool,
    },
    /// Train one experiment and write its result JSON, or a preset or grid of
    /// experiments with one result JSON per run.
    Train(TrainArgs),
    /// Merge result JSONs into the page's results table (Markdown, or CSV
    /// with --csv), or into one file for the page's Import runs (--json).
    /// Exit code 1 if a file was left out (named on stderr).
    Report {
        /// Result JSONs (`train --out`, the page's Export JSON), or folders
        /// of them (their *.json files).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The page's Export CSV columns instead of a Markdown table.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// The runs' result JSONs as one list (the page's Export JSON), for
        /// the page's Import runs, which takes one file.
        #[arg(long)]
        json: bool,
        /// Compare every run with this preset's paper numbers
        /// (default: a preset's runs with their own preset's).
        #[arg(long)]
        preset: Option<String>,
    },
    /// Evaluate a saved model (`train --save-model`) on the test split.
    Eval {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
        /// Official dataset files, or the folder holding them. Default: the built-in sample.
        #[arg(long, num_args = 1..)]
        data: Vec<PathBuf>,
        /// Evaluate on the first N test images (default: the model's config).
        #[arg(long)]
        test_limit: Option<usize>,
        #[arg(long, default_value = "cpu", value_parser = ["cpu", "wgpu", "ndarray"])]
        backend: String,
        /// Print the result as JSON (accuracy, loss, confusion matrix, predictions).
        #[arg(long)]
        json: bool,
    },
    /// Time training steps (the TF.js/PyTorch reference protocol); prints a table and JSON lines.
    Bench {
        #[arg(long, value_delimiter = ',', default_value = "resnet20,plain20,mnist-cnn")]
        models: Vec<String>,
        #[arg(long, value_delimiter = ',', default_value = "sgdm")]
        optimizers: Vec<String>,
        #[arg(long, value_delimiter = ',', default_value = "32,128")]
        batches: Vec<usize>,
        #[arg(long, default_value = "cpu", value_parser = ["cpu", "wgpu"])]
        backend: String,
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        #[arg(long, default_value_t = 10)]
        steps: usize,
        /// Seconds per combination.
        #[arg(long, default_value_t = 120.0)]
        budget: f64,
        /// Train on to this step and report memory after step 100 and after it (0: off).
        #[arg(long, default_value_t = 0)]
        memory_steps: usize,
        /// Append JSON lines here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("queue").args(["preset", "grid"]))]
struct TrainArgs {
    /// Experiment config JSON; flags given as well override its fields.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run a preset (`reslab presets`); config flags apply to every run.
    #[arg(long, conflicts_with_all = ["config", "paper", "grid"])]
    preset: Option<String>,
    /// smoke (seconds) | classroom (minutes on a GPU) | paper (the full recipe)
    #[arg(long, default_value = "classroom", requires = "preset")]
    budget: String,
    /// Multiply the classroom run length (steps, epochs, milestones) by this.
    #[arg(long, default_value_t = 1.0, requires = "preset")]
    scale: f64,
    /// Run a grid of experiments (JSON: name, base, runs, grid); config flags apply to every run.
    #[arg(long, conflicts_with_all = ["config"])]
    grid: Option<PathBuf>,
    /// Run only slice I of N of the preset's or grid's runs, I from 0 to
    /// N-1: runs I+1, I+1+N, I+1+2N, … (dealt out in turn, so that deep and
    /// shallow nets mix). Result files keep the whole grid's numbers. For a
    /// job array: --shard $SLURM_ARRAY_TASK_ID/N with --array=0-(N-1).
    #[arg(long, value_name = "I/N", value_parser = Shard::parse, allow_hyphen_values = true, requires = "queue")]
    shard: Option<Shard>,
    /// Print the runs (result file name and label; one config as JSON
    /// without --preset/--grid) and stop, without loading data or training.
    #[arg(long, conflicts_with = "init_model")]
    dry_run: bool,
    /// Write the trained model here (one run only).
    #[arg(long, conflicts_with_all = ["preset", "grid"])]
    save_model: Option<PathBuf>,
    /// Start from this saved model instead of a fresh initialisation (fresh optimizer state).
    #[arg(long, conflicts_with_all = ["preset", "grid"])]
    init_model: Option<PathBuf>,
    /// mnist | fashion-mnist | cifar10
    #[arg(long)]
    dataset: Option<String>,
    /// Official dataset files, or the folder holding them. Default: the built-in sample.
    #[arg(long, num_args = 1..)]
    data: Vec<PathBuf>,
    #[arg(long)]
    model: Option<String>,
    #[arg(long, value_parser = ["a", "b"])]
    shortcut: Option<String>,
    #[arg(long, value_parser = ["auto", "imagenet", "small"])]
    stem: Option<String>,
    /// sgd | momentum | nesterov | adam | adamw | adagrad | rmsprop
    #[arg(long)]
    optimizer: Option<String>,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    momentum: Option<f64>,
    #[arg(long)]
    weight_decay: Option<f64>,
    /// constant | multistep | cosine
    #[arg(long)]
    schedule: Option<String>,
    /// Comma-separated steps for multistep, e.g. 32000,48000
    #[arg(long, value_delimiter = ',')]
    milestones: Option<Vec<usize>>,
    #[arg(long)]
    bn_momentum: Option<f64>,
    #[arg(long)]
    bn_epsilon: Option<f64>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    max_steps: Option<usize>,
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    val_size: Option<usize>,
    #[arg(long)]
    augment: Option<bool>,
    #[arg(long)]
    patience: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    train_limit: Option<usize>,
    #[arg(long)]
    test_limit: Option<usize>,
    /// The paper's CIFAR-10 recipe (batch 128, lr 0.1 ÷10 at 32k/48k, 64k steps, …) for --model;
    /// with --grid, the layer under the grid's base.
    #[arg(long)]
    paper: bool,
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "wgpu", "ndarray"])]
    backend: String,
    /// Where to write the result JSON; with --preset/--grid, a directory
    /// for one result JSON per run (01-plain20.json, …).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bar (one line per epoch instead).
    #[arg(long)]
    quiet: bool,
}

/// Keeps freed memory in the process for the next allocation of that size.
///
/// Why: glibc gives every large block (over 128 KB, a threshold that adapts
/// up to 32 MB) its own fresh mapping and unmaps it on free. A training step
/// allocates and frees hundreds of activations and gradients of several MB,
/// so the kernel zero-filled each one page by page on first touch: page
/// faults were about 8 % of a ResNet-20 step, much of it on the thread that
/// runs the serial parts. With blocks up to 32 MB taken from the heap and
/// the heap never trimmed, ResNet-20 at batch 128 went from 723 to 588 ms a
/// step on 2 threads (BENCHMARKS.md). The cost: the process keeps its peak
/// memory until it exits, which a training CLI reaches anyway.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called once at start-up, before any thread exists; mallopt only
    // changes the allocator's thresholds.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20); // glibc's maximum on 64-bit
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`reslab describe … | head`)
    // would panic; the default action ends the process quietly, as other tools do.
    #[cfg(unix)]
    // SAFETY: called once at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    keep_freed_memory();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Models => {
            for id in model::MODEL_IDS {
                println!("{id}");
            }
            Ok(())
        }
        Command::Presets { json } => {
            let ps = lab::presets();
            if json {
                println!("{}", serde_json::to_string_pretty(&ps).expect("presets serialise"));
            } else {
                for p in ps {
                    println!("{:<16} {}", p.id, p.title);
                }
            }
            Ok(())
        }
        Command::Describe { model, dataset, shortcut, stem, json } => describe(&model, &dataset, shortcut, stem, json),
        Command::Train(args) if args.preset.is_some() || args.grid.is_some() => run_queue(args),
        Command::Train(args) => run_train(args),
        Command::Report { paths, csv, json, preset } => {
            let format = if csv { ReportFormat::Csv } else if json { ReportFormat::Json } else { ReportFormat::Markdown };
            run_report(&paths, format, preset.as_deref())
        }
        Command::Eval { model, data, test_limit, backend, json } => run_eval(&model, &data, test_limit, &backend, json),
        Command::Bench { models, optimizers, batches, backend, warmup, steps, budget, memory_steps, json } => {
            // model, optimizer and batch are set per combination in run_bench.
            let base = reslab::bench::BenchSpec { model: String::new(), optimizer: String::new(), batch: 0, warmup, steps, budget, memory_steps };
            run_bench(&models, &optimizers, &batches, &backend, &base, json)
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn parse_dataset(s: &str) -> Result<DatasetKind, String> {
    DatasetKind::parse(s).ok_or_else(|| format!("dataset: unknown dataset '{s}' (mnist, fashion-mnist, cifar10)"))
}

fn parse_shortcut(s: &str) -> Shortcut {
    if s == "b" { Shortcut::B } else { Shortcut::A }
}

fn parse_stem(s: &str) -> Stem {
    match s {
        "imagenet" => Stem::Imagenet,
        "small" => Stem::Small,
        _ => Stem::Auto,
    }
}

fn describe(model: &str, dataset: &str, shortcut: Option<String>, stem: Option<String>, json: bool) -> Result<(), String> {
    let mut cfg = ExperimentConfig { model: model.into(), dataset: parse_dataset(dataset)?, ..Default::default() };
    if let Some(s) = shortcut {
        cfg.shortcut = parse_shortcut(&s);
    }
    if let Some(s) = stem {
        cfg.stem = parse_stem(&s);
    }
    let d = model::describe(&cfg)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&d).map_err(|e| e.to_string())?);
    } else {
        println!("{}", d.table());
    }
    Ok(())
}

/// The config file (if any), then the flags on top.
fn build_config(a: &TrainArgs) -> Result<ExperimentConfig, String> {
    let mut cfg = match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            ExperimentConfig::from_json(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None if a.paper => ExperimentConfig::paper_cifar(a.model.as_deref().unwrap_or("resnet20")),
        None => ExperimentConfig::default(),
    };
    if let Some(s) = &a.dataset {
        cfg.dataset = parse_dataset(s)?;
    }
    if let Some(m) = &a.model {
        cfg.model = m.clone();
    }
    if let Some(s) = &a.shortcut {
        cfg.shortcut = parse_shortcut(s);
    }
    if let Some(s) = &a.stem {
        cfg.stem = parse_stem(s);
    }
    if let Some(o) = &a.optimizer {
        cfg.optimizer = OptimizerKind::parse(o)
            .ok_or_else(|| format!("optimizer: unknown optimizer '{o}' (sgd, momentum, nesterov, adam, adamw, adagrad, rmsprop)"))?;
    }
    if let Some(s) = &a.schedule {
        cfg.schedule = match s.as_str() {
            "constant" => Schedule::Constant,
            "multistep" => Schedule::Multistep,
            "cosine" => Schedule::Cosine,
            _ => return Err(format!("schedule: unknown schedule '{s}' (constant, multistep, cosine)")),
        };
    }
    macro_rules! set {
        ($($field:ident <- $arg:ident),*) => { $( if let Some(v) = a.$arg.clone() { cfg.$field = v; } )* };
    }
    set!(lr <- lr, momentum <- momentum, weight_decay <- weight_decay, bn_momentum <- bn_momentum,
         bn_epsilon <- bn_epsilon, epochs <- epochs, batch_size <- batch, val_size <- val_size,
         seed <- seed, milestones <- milestones);
    if a.max_steps.is_some() {
        cfg.max_steps = a.max_steps;
    }
    if a.augment.is_some() {
        cfg.augment = a.augment;
    }
    if a.patience.is_some() {
        cfg.patience = a.patience;
    }
    if a.train_limit.is_some() {
        cfg.train_limit = a.train_limit;
    }
    if a.test_limit.is_some() {
        cfg.test_limit = a.test_limit;
    }
    let problems = cfg.validate();
    if !problems.is_empty() {
        return Err(problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\nerror: "));
    }
    Ok(cfg)
}

/// `--data` paths: files, or folders whose files are all offered to the parser.
fn read_data_files(paths: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    let mut add = |p: &Path| -> Result<(), String> {
        let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        files.push((name, bytes));
        Ok(())
    };
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_dataset_file(p))
                .collect();
            entries.sort();
            for e in entries {
                add(&e)?;
            }
        } else {
            add(p)?;
        }
    }
    Ok(files)
}

fn is_dataset_file(p: &Path) -> bool {
    let n = p.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    n.contains("idx") || n.ends_with(".bin") || n.ends_with(".tar.gz") || n.ends_with(".tgz") || n.ends_with(".tar") || n.ends_with("batches.meta.txt")
}

/// The dataset a run of `kind` trains on: `--data` (when given, whatever
/// kind it holds), else the built-in sample of `kind`.
fn load_dataset(paths: &[PathBuf], kind: DatasetKind) -> Result<Dataset, String> {
    if paths.is_empty() {
        let files = data::sample::builtin_files(kind)
            .ok_or_else(|| format!("no built-in sample for {}: pass --data with the official files", kind.id()))?;
        let mut d = data::load_files(&files, Some(kind)).map_err(|e| e.to_string())?;
        d.source = "built-in sample".into();
        Ok(d)
    } else {
        data::load_files(&read_data_files(paths)?, Some(kind)).map_err(|e| e.to_string())
    }
}

fn device_for(backend_name: &str) -> Result<(burn::tensor::Device, BackendKind), String> {
    Ok(match backend_name {
        "wgpu" => (pollster::block_on(backend::wgpu_device())?, BackendKind::Wgpu),
        _ => (backend::cpu_device(), BackendKind::Cpu),
    })
}

/// Trains one config with a progress bar (or one line per epoch with `quiet`).
fn train_with_progress(
    cfg: &ExperimentConfig,
    dataset: &Dataset,
    device: &burn::tensor::Device,
    kind: BackendKind,
    quiet: bool,
    init: Option<model::Net>,
) -> RunResult {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  ETA {eta}")
            .expect("valid template"),
    );
    // A hidden bar (--quiet, or stderr not a terminal, as in a log file)
    // swallows its println too: the lines go straight to stderr then.
    let say = |line: String| if bar.is_hidden() { eprintln!("{line}") } else { bar.println(line) };
    let mut last_loss = f32::NAN;
    let mut on_event = |e: &Event| match e {
        Event::Start { total_steps, params, .. } => {
            bar.set_length(*total_steps as u64);
            say(format!("{params} parameters, {total_steps} steps"));
        }
        Event::Steps { points, img_per_s, epoch, train_accuracy, .. } => {
            if let Some(p) = points.last() {
                bar.set_position(p.step as u64);
                last_loss = p.loss;
            }
            let acc = train_accuracy * 100.0;
            bar.set_message(format!("epoch {epoch}  loss {last_loss:.4}  acc {acc:.1}%  {img_per_s:.0} img/s"));
        }
        Event::Epoch(m) => {
            let val = match (m.val_loss, m.val_accuracy) {
                (Some(l), Some(a)) => format!("  val loss {l:.4} acc {:.2}%", a * 100.0),
                _ => String::new(),
            };
            say(format!(
                "epoch {}: train loss {:.4} acc {:.2}%{val}  ({:.1}s)",
                m.epoch,
                m.train_loss,
                m.train_accuracy * 100.0,
                m.elapsed
            ));
        }
        Event::Finished { .. } => bar.finish_and_clear(),
        Event::Paused | Event::Resumed => {}
    };
    pollster::block_on(train::train_from(cfg, dataset, device, kind.id(), &Control::new(), &mut on_event, init))
}

fn run_train(a: TrainArgs) -> Result<(), String> {
    let mut cfg = build_config(&a)?;
    if a.dry_run {
        println!("{}", cfg.to_json());
        return Ok(());
    }
    let (device, kind) = device_for(&a.backend)?;
    // A saved model brings its own architecture; flags still set the rest.
    let init = match &a.init_model {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let (net, saved) = model::load_model(&bytes, &device).map_err(|e| format!("{}: {e}", p.display()))?;
            if a.config.is_none() && a.model.is_none() && a.dataset.is_none() {
                (cfg.model, cfg.dataset, cfg.shortcut, cfg.stem) = (saved.model, saved.dataset, saved.shortcut, saved.stem);
            }
            Some(net)
        }
        None => None,
    };
    let dataset = load_dataset(&a.data, cfg.dataset)?;
    eprintln!(
        "{} on {} ({} train / {} test images, {}), backend {}",
        cfg.model,
        cfg.dataset.id(),
        dataset.train.len(),
        dataset.test.len(),
        dataset.source,
        kind.id()
    );
    let result = train_with_progress(&cfg, &dataset, &device, kind, a.quiet, init);
    let acc = result.test_accuracy.map_or("-".into(), |a| format!("{:.2}%", a * 100.0));
    eprintln!(
        "{:?}: {}  test accuracy {acc}  ({:.1}s, {:.0} img/s)",
        result.status, result.message, result.wall_seconds, result.img_per_s
    );
    if let Some(out) = &a.out {
        std::fs::write(out, result.to_json()).map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("result written to {}", out.display());
    }
    if let (Some(path), Some(net)) = (&a.save_model, &result.model) {
        std::fs::write(path, model::save_model(net, &result.config)).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("model written to {}", path.display());
    }
    match result.status {
        train::Status::Finished | train::Status::Stopped => Ok(()),
        _ => Err(result.message),
    }
}

/// The config flags given, as a partial config applied to every run of a
/// preset or grid (after the preset's budget).
fn flag_overrides(a: &TrainArgs) -> Result<Map<String, Value>, String> {
    let mut m = Map::new();
    let mut set = |k: &str, v: Value| {
        m.insert(k.into(), v);
    };
    if let Some(s) = &a.dataset {
        set("dataset", json!(parse_dataset(s)?.id()));
    }
    if let Some(o) = &a.optimizer {
        let o = OptimizerKind::parse(o)
            .ok_or_else(|| format!("optimizer: unknown optimizer '{o}' (sgd, momentum, nesterov, adam, adamw, adagrad, rmsprop)"))?;
        set("optimizer", json!(o.id()));
    }
    for (k, v) in [("model", &a.model), ("shortcut", &a.shortcut), ("stem", &a.stem), ("schedule", &a.schedule)] {
        if let Some(v) = v {
            set(k, json!(v));
        }
    }
    for (k, v) in [("lr", a.lr), ("momentum", a.momentum), ("weight_decay", a.weight_decay), ("bn_momentum", a.bn_momentum), ("bn_epsilon", a.bn_epsilon)] {
        if let Some(v) = v {
            set(k, json!(v));
        }
    }
    for (k, v) in [("max_steps", a.max_steps), ("train_limit", a.train_limit), ("test_limit", a.test_limit), ("patience", a.patience)] {
        if let Some(v) = v {
            set(k, json!(v));
        }
    }
    for (k, v) in [("epochs", a.epochs), ("batch_size", a.batch), ("val_size", a.val_size)] {
        if let Some(v) = v {
            set(k, json!(v));
        }
    }
    if let Some(v) = a.seed {
        set("seed", json!(v));
    }
    if let Some(v) = a.augment {
        set("augment", json!(v));
    }
    if let Some(v) = &a.milestones {
        set("milestones", json!(v));
    }
    Ok(m)
}

/// The runs of `--preset` or `--grid`, with the flags applied to each, and
/// the `group` their result files carry (the page's: which preset or grid
/// they belong to, so that imported runs are compared with the paper too).
fn plan_queue(a: &TrainArgs) -> Result<(Vec<PlannedRun>, Value), String> {
    let overrides = flag_overrides(a)?;
    if let Some(id) = &a.preset {
        let runs = lab::expand_preset(id, Budget::parse(&a.budget)?, a.scale, &overrides)?;
        let title = lab::preset(id)?.title;
        let group = json!({"kind": "preset", "id": id, "name": title, "budget": a.budget, "scale": a.scale});
        return Ok((runs, group));
    }
    let path = a.grid.as_ref().expect("a preset or a grid");
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut grid = lab::Grid::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if a.paper {
        let Ok(Value::Object(mut base)) = serde_json::to_value(ExperimentConfig::paper_cifar(a.model.as_deref().unwrap_or("resnet20")))
        else {
            unreachable!("the config serialises to an object")
        };
        base.extend(std::mem::take(&mut grid.base));
        grid.base = base;
    }
    let name = grid.name.clone().unwrap_or_else(|| path.file_stem().map_or("grid".into(), |s| s.to_string_lossy().into_owned()));
    // Flags win over everything the grid says: drop axes they fix.
    grid.grid.retain(|(k, _)| !overrides.contains_key(k));
    for r in grid.runs.iter_mut().flatten() {
        r.extend(overrides.clone());
    }
    if grid.runs.is_none() {
        grid.runs = Some(vec![overrides]);
    }
    let runs = grid.expand().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((runs, json!({"kind": "grid", "name": name})))
}

/// A grid's or preset's result file: the result JSON plus the page's keys
/// `label` and `group`, which its *Import runs* reads.
#[derive(Serialize)]
struct QueuedResult<'a> {
    #[serde(flatten)]
    result: &'a RunResult,
    label: &'a str,
    group: &'a Value,
}

/// `train --preset/--grid`: every run in order (or this shard's), one result
/// JSON each; a run that fails or diverges is reported and the queue goes on.
fn run_queue(a: TrainArgs) -> Result<(), String> {
    let (runs, group) = plan_queue(&a)?;
    let total = runs.len();
    let runs = a.shard.unwrap_or(Shard { index: 0, count: 1 }).select(runs);
    if let Some(shard) = a.shard {
        if runs.is_empty() {
            // Only when N is above the number of runs: shards 0 to total-1 hold one each.
            eprintln!("shard {shard}: no runs, there are only {total} (one for each of shards 0 to {}); nothing to do", total.saturating_sub(1));
            return Ok(());
        }
        let ids: Vec<String> = runs.iter().map(|(k, _)| (k + 1).to_string()).collect();
        let runs_word = if ids.len() == 1 { "run" } else { "runs" };
        eprintln!("shard {shard}: {runs_word} {} of {total}", ids.join(", "));
    }
    if a.dry_run {
        for (k, run) in &runs {
            println!("{}  {}", lab::run_file_name(*k, &run.label), run.label);
        }
        return Ok(());
    }
    let (device, kind) = device_for(&a.backend)?;
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Each dataset kind is loaded once, when a run first needs it. `--data`
    // serves the runs of the kind it holds; the others use the built-in sample.
    let given = if a.data.is_empty() {
        None
    } else {
        let hint = runs.first().map(|(_, r)| r.config.dataset).filter(|k| runs.iter().all(|(_, r)| r.config.dataset == *k));
        let d = data::load_files(&read_data_files(&a.data)?, hint).map_err(|e| e.to_string())?;
        Some(d)
    };
    let mut samples: Vec<(DatasetKind, Result<Dataset, String>)> = Vec::new();
    let mut rows: Vec<(String, Status, Option<f64>, Option<f64>, f64)> = Vec::new();
    // Progress lines number runs in the whole grid, as the result files do.
    for (k, run) in runs {
        let cfg = &run.config;
        eprintln!("[{}/{total}] {}: {} on {}", k + 1, run.label, cfg.model, cfg.dataset.id());
        let dataset = match &given {
            Some(d) if d.kind == cfg.dataset => Ok(d),
            _ => {
                if !samples.iter().any(|(k, _)| *k == cfg.dataset) {
                    samples.push((cfg.dataset, load_dataset(&[], cfg.dataset)));
                }
                let (_, d) = samples.iter().find(|(k, _)| *k == cfg.dataset).expect("just loaded");
                d.as_ref().map_err(|e| e.clone())
            }
        };
        let result = match dataset {
            Ok(d) => train_with_progress(cfg, d, &device, kind, a.quiet, None),
            Err(e) => {
                let mut r = RunResult::new(cfg.clone(), kind.id());
                r.message = e;
                r
            }
        };
        let acc = result.test_accuracy.map_or("-".into(), |a| format!("{:.2}%", a * 100.0));
        eprintln!("[{}/{total}] {:?}: {}  test accuracy {acc}  ({:.1}s)", k + 1, result.status, result.message, result.wall_seconds);
        if let Some(dir) = &a.out {
            let path = dir.join(lab::run_file_name(k, &run.label));
            let file = QueuedResult { result: &result, label: &run.label, group: &group };
            let text = serde_json::to_string_pretty(&file).expect("results serialise");
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        rows.push((run.label, result.status, result.best_val_accuracy, result.test_accuracy, result.wall_seconds));
    }

    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.2}%", v * 100.0));
    let width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(5).max(5);
    println!("{:<width$}  {:<9} {:>12} {:>9} {:>9}", "run", "status", "best val acc", "test acc", "time");
    for (label, status, val, test, secs) in &rows {
        let status = format!("{status:?}").to_lowercase();
        println!("{label:<width$}  {status:<9} {:>12} {:>9} {:>8.1}s", pct(*val), pct(*test), secs);
    }
    if let Some(dir) = &a.out {
        eprintln!("results written to {}", dir.display());
    }
    let ok = rows.iter().filter(|r| matches!(r.1, Status::Finished | Status::Stopped)).count();
    if ok == 0 {
        return Err(format!("all {} runs failed", rows.len()));
    }
    Ok(())
}

enum ReportFormat {
    Markdown,
    Csv,
    Json,
}

/// `report`: the result files (folders: their *.json files, by name), one
/// table. A file that is not a result is named and left out; the table is
/// still printed, and the exit code says something was left out.
fn run_report(paths: &[PathBuf], format: ReportFormat, preset: Option<&str>) -> Result<(), String> {
    if let Some(id) = preset {
        lab::preset(id)?;
    }
    let mut left_out = 0usize;
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "json"))
                .collect();
            if found.is_empty() {
                eprintln!("error: {}: no result files (*.json) in this folder", p.display());
                left_out += 1;
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    let mut entries = Vec::new();
    let mut seen: Vec<(String, PathBuf)> = Vec::new();
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {}: {e}", f.display());
                left_out += 1;
                continue;
            }
        };
        let name = f.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let run = name.strip_suffix(".json").unwrap_or(&name);
        let (read, problems) = report::read_results(run, &text);
        for m in &problems {
            eprintln!("error: {}: {m}", f.display());
        }
        left_out += problems.len();
        // Shards' folders merged by hand can hold a run twice.
        if let Some((_, first)) = seen.iter().find(|(r, _)| r == run) {
            eprintln!("note: run {run} is in both {} and {}", first.display(), f.display());
        }
        seen.push((run.to_string(), f.clone()));
        entries.extend(read);
    }
    if entries.is_empty() {
        return Err("no run results to report".into());
    }
    let n = entries.len();
    let table = report::Table::new(entries, preset)?;
    print!(
        "{}",
        match format {
            ReportFormat::Markdown => table.markdown(),
            ReportFormat::Csv => table.csv(),
            ReportFormat::Json => table.json(),
        }
    );
    if left_out > 0 {
        let runs = if n == 1 { "run" } else { "runs" };
        return Err(format!("{left_out} left out (named above); the table has the other {n} {runs}"));
    }
    Ok(())
}

fn run_eval(path: &Path, data_paths: &[PathBuf], test_limit: Option<usize>, backend_name: &str, json: bool) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (device, _) = device_for(backend_name)?;
    let (net, mut cfg) = model::load_model(&bytes, &device).map_err(|e| format!("{}: {e}", path.display()))?;
    if test_limit.is_some() {
        cfg.test_limit = test_limit;
    }
    let dataset = load_dataset(data_paths, cfg.dataset)?;
    let report = pollster::block_on(train::evaluate_test(&net, &cfg, &dataset, &device))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report).expect("report serialises"));
    } else {
        println!(
            "{} on {} ({} test images, {}): test accuracy {:.2}%, test loss {:.4}",
            cfg.model,
            cfg.dataset.id(),
            report.test_predictions.len(),
            dataset.source,
            report.test_accuracy * 100.0,
            report.test_loss
        );
    }
    Ok(())
}

fn run_bench(
    models: &[String],
    optimizers: &[String],
    batches: &[usize],
    backend_name: &str,
    base: &reslab::bench::BenchSpec,
    json: Option<PathBuf>,
) -> Result<(), String> {
    use std::io::Write;
    let device = match backend_name {
        "wgpu" => pollster::block_on(backend::wgpu_device())?,
        _ => backend::cpu_device(),
    };
    // Flex's thread pool: RAYON_NUM_THREADS if set, else one per core.
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let backend_label = format!("native-{backend_name}");
    let mut out = match &json {
        Some(p) => Some(
            std::fs::OpenOptions::new().create(true).append(true).open(p).map_err(|e| format!("{}: {e}", p.display()))?,
        ),
        None => None,
    };
    println!("{:<10} {:<5} {:<12} {:>5} {:>10} {:>8} {:>10}  status   ({threads} threads)", "model", "opt", "backend", "batch", "ms/step", "img/s", "first ms");
    for model in models {
        for opt in optimizers {
            if opt == "adam" && model != "mnist-cnn" {
                continue; // the reference harnesses run Adam on the MNIST CNN only
            }
            for &batch in batches {
                let spec = reslab::bench::BenchSpec { model: model.clone(), optimizer: opt.clone(), batch, ..base.clone() };
                let r = pollster::block_on(reslab::bench::run(&spec, &device, &backend_label))?;
                let fmt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |v| format!("{v:.p$}"));
                println!(
                    "{:<10} {:<5} {:<12} {:>5} {:>10} {:>8} {:>10.0}  {}",
                    r.model, r.optimizer, r.backend, r.batch, fmt(r.ms_per_step, 1), fmt(r.img_per_s, 1), r.first_step_ms, r.status
                );
                for m in &r.memory {
                    let mb = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{:.2} MB", v as f64 / 1e6));
                    println!(
                        "    after step {}: process RSS {}, device in use {}, device reserved {}",
                        m.step,
                        mb(m.process_rss_bytes),
                        mb(m.device_bytes_in_use),
                        mb(m.device_bytes_reserved)
                    );
                }
                if let Some(f) = out.as_mut() {
                    writeln!(f, "{}", serde_json::to_string(&r).expect("serialises")).map_err(|e| e.to_string())?;
                }
            }
        }
    }
    Ok(())
}
