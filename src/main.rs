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
//!   reslab train --data ~/pets --image-size 64 --model resnet20 --save-model pets.reslab   # pets/cat/…, pets/dog/…
//!   reslab predict --model pets.reslab photo1.jpg photo2.png

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use reslab::backend::{self, BackendKind};
use reslab::config::ExperimentConfig;
use reslab::data::{self, Dataset, DatasetKind};
use reslab::lab::{self, Budget, PlannedRun, Shard};
use reslab::{model, model_file, schema};
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
        #[arg(long, default_value = "cifar10", value_parser = field_parser("dataset"))]
        dataset: Value,
        #[arg(long, value_parser = field_parser("shortcut"))]
        shortcut: Option<Value>,
        #[arg(long, value_parser = field_parser("stem"))]
        stem: Option<Value>,
        /// Print the description as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the model ids.
    Models,
    /// Print the config schema (every field: type, default, range, choices,
    /// group, help) as JSON; with --js, as the page's `www/schema.js`.
    Schema {
        #[arg(long)]
        js: bool,
    },
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
        /// Official dataset files, or the folder holding them, or (for a
        /// model of your pictures) the folder of class folders or its .zip.
        /// Default: the built-in sample.
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
    /// Name the class of each picture with a saved model (`train
    /// --save-model`): its most probable classes (top 5, or fewer), with
    /// probabilities. Pictures are prepared as the model's training images
    /// were: resized to its input (grey for MNIST's), cropped or padded as it
    /// was trained, its pixel mean subtracted.
    Predict {
        /// The model file.
        #[arg(long)]
        model: PathBuf,
        /// Pictures: JPEG, PNG, WebP, GIF (first frame) or BMP.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// How many classes to list per picture.
        #[arg(long, default_value_t = 5)]
        top: usize,
        #[arg(long, default_value = "cpu", value_parser = ["cpu", "wgpu", "ndarray"])]
        backend: String,
        /// Print the predictions as JSON: [{file, top: [{class, probability}]}].
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
#[command(after_help = "The config flags (and --set) override the base config: the defaults shown, \
--config FILE, or --paper's recipe; with --preset or --grid, every run's config. \
Their values are checked as the page checks a config.")]
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
    /// Start from this saved model's weights instead of a fresh
    /// initialisation (fine-tuning: fresh optimizer state, schedule from step 0).
    #[arg(long, conflicts_with_all = ["preset", "grid", "resume"])]
    init_model: Option<PathBuf>,
    /// Write the run's checkpoint (weights, optimizer state, step, curves)
    /// to this file at the end of every epoch, for --resume.
    #[arg(long, conflicts_with_all = ["preset", "grid"])]
    checkpoint: Option<PathBuf>,
    /// Continue the run this checkpoint file was written by, exactly where it
    /// stopped (same result as a run never stopped). The config is the
    /// checkpoint's; a flag that changes it is refused.
    #[arg(long, conflicts_with_all = ["preset", "grid", "config", "paper"])]
    resume: Option<PathBuf>,
    /// Official dataset files, or the folder holding them; or your pictures:
    /// a folder of class folders (cat/…, dog/…, optionally inside train/ and
    /// test/) or a .zip of it (then the dataset is `images`). Default: the
    /// built-in sample.
    #[arg(long, num_args = 1..)]
    data: Vec<PathBuf>,
    /// A flag for every config field, and `--set FIELD=VALUE`.
    #[command(flatten)]
    flags: ConfigFlags,
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

// ---------------------------------------------------------------------------
// Config flags: one per field of `ExperimentConfig`, made from the struct.
//
// The flags given become ONE JSON object of overrides (field name -> JSON
// value): merged over the base config (defaults, --config FILE or --paper's
// recipe) and parsed and validated as the page parses a config
// ([`config_with`]), or applied to every run of a preset or grid.
// ---------------------------------------------------------------------------

/// One config field's flag.
struct FieldFlag {
    /// The field's name in the config JSON (`batch_size`).
    field: &'static str,
    /// `batch-size`.
    long: &'static str,
    /// What the value is in `--help`: N, X, BOOL, LIST, or the field's name
    /// in capitals (a string, or an enum's value).
    value_name: &'static str,
    heading: &'static str,
    aliases: &'static [&'static str],
    help: String,
    /// The value in `ExperimentConfig::default()`: its JSON type says how
    /// the command line's text is read.
    default: Value,
    /// An enum's values (their JSON form); `None` for other fields.
    choices: Option<Vec<&'static str>>,
}

/// clap (without its `string` feature) names arguments with `&'static str`;
/// these are made once, for the ~30 fields.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// Whether the config's parser takes `value` for `field`; if not, its message.
fn accepts(field: &str, value: &Value) -> Result<(), String> {
    let one = Map::from_iter([(field.to_string(), value.clone())]);
    serde_json::from_value::<ExperimentConfig>(Value::Object(one)).map(drop).map_err(|e| e.to_string())
}

/// A field's value in `--help`: X (any number), N (a whole number), BOOL,
/// LIST, else the field's name in capitals (an enum's value, a string).
fn value_name(f: &schema::Field) -> &'static str {
    match f.kind {
        "number" => "X",
        "int" => "N",
        "bool" => "BOOL",
        "intlist" => "LIST",
        _ => leak(f.name.to_uppercase()),
    }
}

/// Every config field's flag, from the schema (`src/schema.rs`), in its
/// order, under its group's heading.
fn field_flags() -> &'static [FieldFlag] {
    static FLAGS: std::sync::OnceLock<Vec<FieldFlag>> = std::sync::OnceLock::new();
    FLAGS.get_or_init(|| {
        let schema = schema::schema();
        schema
            .fields
            .iter()
            .map(|f| {
                let title = schema.groups.iter().find(|g| g.id == f.group).map_or("Other", |g| g.title);
                let shown = match &f.default {
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                };
                let help = if f.help.is_empty() { format!("{} (default: {shown})", f.label) } else { format!("{} (default: {shown})", f.help) };
                FieldFlag {
                    field: f.name,
                    long: leak(f.name.replace('_', "-")),
                    value_name: value_name(f),
                    heading: leak(format!("{title} config")),
                    aliases: f.aliases,
                    help,
                    default: f.default.clone(),
                    choices: f.values.as_ref().filter(|_| f.name != "model").map(|v| v.iter().map(|c| leak(c.value.clone())).collect()),
                }
            })
            .collect()
    })
}

fn field_flag(field: &str) -> Option<&'static FieldFlag> {
    field_flags().iter().find(|f| f.field == field)
}

/// An enum field's value from its text; `dataset` also takes the spellings
/// `DatasetKind::parse` knows (cifar, CIFAR-10, fashion, …).
fn choose(f: &FieldFlag, text: &str) -> Option<&'static str> {
    let choices = f.choices.as_ref()?;
    if let Some(v) = choices.iter().find(|v| **v == text) {
        return Some(v);
    }
    match f.field {
        "dataset" => DatasetKind::parse(text).map(|d| d.id()),
        _ => None,
    }
}

/// A field's value from command-line text, the same for its flag and for
/// `--set`: an enum's value must be one of its values; a list field (the
/// milestones) also takes comma-separated items (`32000,48000`); otherwise
/// the text is JSON if it parses (`0.1`, `true`, `null`, `[1,2]`), a number
/// if Rust reads it as one for a numeric field (`.1`), else a string. The
/// value's type is then checked as the page's config parser checks it.
fn field_value(f: &FieldFlag, text: &str) -> Result<Value, String> {
    let json = serde_json::from_str::<Value>(text).ok();
    let value = if let Some(choices) = &f.choices {
        let s = match &json {
            Some(Value::String(s)) => s.as_str(),
            _ => text,
        };
        let v = choose(f, s).ok_or_else(|| format!("invalid value '{s}' [possible values: {}]", choices.join(", ")))?;
        Value::String(v.into())
    } else if f.default.is_array() && !text.trim_start().starts_with('[') {
        let item = |s: &str| serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.into()));
        Value::Array(text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(item).collect())
    } else if let Some(v) = json {
        v
    } else if let Some(n) = text.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).filter(|_| f.default.is_number()) {
        Value::Number(n)
    } else {
        Value::String(text.into())
    };
    accepts(f.field, &value)?;
    Ok(value)
}

/// An enum field's values for clap: listed in `--help`, checked when parsed,
/// with clap's own message for a value that is not one of them.
#[derive(Clone)]
struct Choice(&'static FieldFlag);

impl clap::builder::TypedValueParser for Choice {
    type Value = Value;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &std::ffi::OsStr) -> Result<Value, clap::Error> {
        if let Some(v) = value.to_str().and_then(|s| choose(self.0, s)) {
            return Ok(Value::String(v.into()));
        }
        let values = self.0.choices.clone().unwrap_or_default();
        clap::builder::PossibleValuesParser::new(values).parse_ref(cmd, arg, value).map(Value::String)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(self.0.choices.iter().flatten().map(|v| clap::builder::PossibleValue::new(*v))))
    }
}

/// The parser of a config field's flag (its value as JSON).
fn field_parser(field: &str) -> clap::builder::ValueParser {
    let f = field_flag(field).unwrap_or_else(|| panic!("{field} is not a config field"));
    match f.choices {
        Some(_) => clap::builder::ValueParser::new(Choice(f)),
        None => clap::builder::ValueParser::new(move |s: &str| field_value(f, s)),
    }
}

/// `--set FIELD=VALUE`: (field, value).
fn parse_set(text: &str) -> Result<(String, Value), String> {
    let Some((name, value)) = text.split_once('=') else {
        return Err("expected FIELD=VALUE, e.g. lr=0.1, model=resnet20, milestones=[100,200] or max_steps=null".into());
    };
    let Some(f) = field_flag(&name.trim().replace('-', "_")) else {
        let known: Vec<&str> = field_flags().iter().map(|f| f.field).collect();
        return Err(format!("unknown config field '{name}' (the fields: {})", known.join(", ")));
    };
    let value = field_value(f, value).map_err(|e| format!("{}: {e}", f.field))?;
    Ok((f.field.to_string(), value))
}

/// The config flags given: one JSON object of overrides.
#[derive(Clone, Debug, Default)]
struct ConfigFlags {
    overrides: Map<String, Value>,
}

impl clap::Args for ConfigFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        use clap::{Arg, ArgAction};
        let set = Arg::new("set")
            .long("set")
            .value_name("FIELD=VALUE")
            .action(ArgAction::Append)
            .value_parser(parse_set)
            .help(
                "Set any config field (repeatable); VALUE is JSON if it parses, else a string: \
                 lr=0.1, model=resnet20, milestones=[100,200], max_steps=null",
            );
        let flags = field_flags().iter().map(|f| {
            Arg::new(f.field)
                .long(f.long)
                .visible_aliases(f.aliases)
                .value_name(f.value_name)
                .value_parser(field_parser(f.field))
                .allow_negative_numbers(true)
                .help(f.help.clone())
                .help_heading(f.heading)
        });
        cmd.arg(set).args(flags)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for ConfigFlags {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        // Where each field was given, for the message when one is given twice.
        let mut given: Vec<(&str, String)> = Vec::new();
        let mut overrides = Map::new();
        for f in field_flags() {
            if let Some(v) = m.get_one::<Value>(f.field) {
                overrides.insert(f.field.to_string(), v.clone());
                given.push((f.field, format!("--{} {v}", f.long)));
            }
        }
        for (field, value) in m.get_many::<(String, Value)>("set").into_iter().flatten() {
            let this = format!("--set {field}={value}");
            if let Some((_, first)) = given.iter().find(|(f, _)| f == field) {
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("{field} is given twice ({first}, {this}): give it once"),
                ));
            }
            overrides.insert(field.clone(), value.clone());
            given.push((field, this));
        }
        Ok(ConfigFlags { overrides })
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

/// `base` with `overrides` on top, through the page's path: the JSON objects
/// merged (later wins), parsed by `ExperimentConfig::from_json` and
/// validated, every problem reported as `field: message`.
fn config_with(base: &ExperimentConfig, overrides: &Map<String, Value>) -> Result<ExperimentConfig, String> {
    checked(merged(base, overrides)?)
}

/// `base` with `overrides` on top, parsed but not yet validated.
fn merged(base: &ExperimentConfig, overrides: &Map<String, Value>) -> Result<ExperimentConfig, String> {
    let Ok(Value::Object(mut m)) = serde_json::to_value(base) else {
        unreachable!("the config serialises to an object")
    };
    m.extend(overrides.clone());
    ExperimentConfig::from_json(&Value::Object(m).to_string())
}

/// The config if `validate` finds nothing, else every problem as `field: message`.
fn checked(cfg: ExperimentConfig) -> Result<ExperimentConfig, String> {
    let problems = cfg.validate();
    if !problems.is_empty() {
        return Err(problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\nerror: "));
    }
    Ok(cfg)
}

/// Keeps freed memory in the process for the next allocation of that size.
///
/// Why: glibc gives every large block (over 128 KB, a threshold that adapts
/// up to 32 MB) its own fresh mapping and unmaps it on free. A training step
/// allocates and frees hundreds of activations and gradients of several MB,
/// so the kernel zero-filled each one page by page on first touch: page
/// faults were a large part of a step, much of it on the thread that runs
/// the serial parts. With blocks up to 32 MB taken from the heap and the
/// heap never trimmed, a step is markedly faster (BENCHMARKS.md, "heap
/// reuse"). The cost: the process keeps its peak memory until it exits,
/// which a training CLI reaches anyway.
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
        Command::Schema { js } => {
            print!("{}", if js { schema::schema_module() } else { schema::schema_json() + "\n" });
            Ok(())
        }
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
        Command::Describe { model, dataset, shortcut, stem, json } => describe(&model, dataset, shortcut, stem, json),
        Command::Train(args) if args.preset.is_some() || args.grid.is_some() => run_queue(args),
        Command::Train(args) => run_train(args),
        Command::Report { paths, csv, json, preset } => {
            let format = if csv { ReportFormat::Csv } else if json { ReportFormat::Json } else { ReportFormat::Markdown };
            run_report(&paths, format, preset.as_deref())
        }
        Command::Eval { model, data, test_limit, backend, json } => run_eval(&model, &data, test_limit, &backend, json),
        Command::Predict { model, images, top, backend, json } => run_predict(&model, &images, top, &backend, json),
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

fn describe(model: &str, dataset: Value, shortcut: Option<Value>, stem: Option<Value>, json: bool) -> Result<(), String> {
    let mut overrides = Map::from_iter([("model".to_string(), json!(model)), ("dataset".to_string(), dataset)]);
    overrides.extend(shortcut.map(|v| ("shortcut".to_string(), v)));
    overrides.extend(stem.map(|v| ("stem".to_string(), v)));
    let cfg = config_with(&ExperimentConfig::default(), &overrides)?;
    let d = model::describe(&cfg.model_spec())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&d).map_err(|e| e.to_string())?);
    } else {
        println!("{}", d.table());
    }
    Ok(())
}

/// `--paper`'s recipe for the model given (`--model` or `--set model=…`; default resnet20).
fn paper_recipe(a: &TrainArgs) -> ExperimentConfig {
    ExperimentConfig::paper_cifar(a.flags.overrides.get("model").and_then(Value::as_str).unwrap_or("resnet20"))
}

/// The config file (or `--paper`'s recipe, or the defaults).
fn base_config(a: &TrainArgs) -> Result<ExperimentConfig, String> {
    Ok(match &a.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            ExperimentConfig::from_json(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None if a.paper => paper_recipe(a),
        None => ExperimentConfig::default(),
    })
}

/// The config file (or `--paper`'s recipe, or the defaults), then the flags on top.
fn build_config(a: &TrainArgs) -> Result<ExperimentConfig, String> {
    config_with(&base_config(a)?, &a.flags.overrides)
}

/// The config of a run on pictures before they are imported: as
/// [`build_config`], with `dataset` images unless the config file or a flag
/// names the dataset, and not yet checked (`classes` comes from the pictures).
fn picture_config(a: &TrainArgs) -> Result<ExperimentConfig, String> {
    let base = base_config(a)?;
    let mut overrides = a.flags.overrides.clone();
    if a.config.is_none() && !overrides.contains_key("dataset") {
        overrides.insert("dataset".into(), json!(DatasetKind::Images.id()));
    }
    let cfg = merged(&base, &overrides)?;
    if cfg.dataset != DatasetKind::Images {
        return Err(format!("--data names pictures in class folders, but the config's dataset is {}: use --dataset images", cfg.dataset.id()));
    }
    Ok(cfg)
}

/// Whether `--data` names your pictures: one `.zip`, or one folder that
/// holds folders and no dataset files of its own (class folders, or
/// `train/` and `test/`).
fn is_picture_source(paths: &[PathBuf]) -> bool {
    let [p] = paths else { return false };
    if p.is_file() {
        return p.extension().is_some_and(|x| x.eq_ignore_ascii_case("zip"));
    }
    let Ok(entries) = std::fs::read_dir(p) else { return false };
    let entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    let hidden = |e: &PathBuf| e.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
    entries.iter().any(|e| e.is_dir() && !hidden(e)) && !entries.iter().any(|e| e.is_file() && is_dataset_file(e))
}

/// Imports the pictures `--data` names, as `cfg` says (size, fit, test
/// share, seed), and says what it found: the files it skipped and why, and
/// the classes with their counts.
fn import_pictures(path: &Path, cfg: &ExperimentConfig) -> Result<Dataset, String> {
    let opts = cfg.import_options();
    let import = if path.is_dir() {
        data::images::import_dir(path, &opts)
    } else {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        data::images::import_zip(&name, &bytes, &opts)
    }
    .map_err(|e| e.to_string())?;
    if !import.skipped.is_empty() {
        let n = import.skipped.len();
        eprintln!("skipped {n} file{}:", if n == 1 { "" } else { "s" });
        for s in &import.skipped {
            eprintln!("  {s}");
        }
    }
    let d = import.dataset;
    let (train, test) = (d.train.class_counts(d.num_classes()), d.test.class_counts(d.num_classes()));
    let classes: Vec<String> = d.class_names.iter().enumerate().map(|(i, c)| format!("{c} ({} train, {} test)", train[i], test[i])).collect();
    eprintln!("{} classes: {}", d.num_classes(), classes.join(", "));
    Ok(d)
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
    start: train::Start,
    checkpoint_to: Option<&std::path::Path>,
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
    let mut on_checkpoint = |ck: train::Checkpoint| {
        let Some(path) = checkpoint_to else { return };
        // Written beside and renamed: a run killed while writing keeps the previous checkpoint.
        let tmp = path.with_extension("partial");
        let written = pollster::block_on(ck.to_bytes(true))
            .and_then(|b| std::fs::write(&tmp, b).map_err(|e| e.to_string()))
            .and_then(|_| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("warning: checkpoint not written to {}: {e}", path.display());
        }
    };
    pollster::block_on(train::train_checkpointed(cfg, dataset, device, kind.id(), &Control::new(), &mut on_event, start, &mut on_checkpoint))
}

fn run_train(a: TrainArgs) -> Result<(), String> {
    let pictures = is_picture_source(&a.data);
    let mut cfg = if pictures && a.resume.is_none() { picture_config(&a)? } else { build_config(&a)? };
    if a.dry_run {
        println!("{}", cfg.to_json());
        return Ok(());
    }
    let (device, kind) = device_for(&a.backend)?;
    // A saved model brings its own architecture; flags still set the rest.
    let start = match (&a.init_model, &a.resume) {
        (Some(p), _) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let (net, saved) = model_file::load_model(&bytes, &device).map_err(|e| format!("{}: {e}", p.display()))?;
            let flags = &a.flags.overrides;
            if a.config.is_none() && !flags.contains_key("model") && !flags.contains_key("dataset") {
                if saved.dataset == DatasetKind::Images {
                    (cfg.image_size, cfg.image_fit, cfg.classes) = (saved.image_size, saved.image_fit, saved.classes);
                }
                (cfg.model, cfg.dataset, cfg.shortcut, cfg.stem) = (saved.model, saved.dataset, saved.shortcut, saved.stem);
            }
            train::Start::Weights(net)
        }
        // The checkpoint's config is the run's; flags given on top must not change it.
        (None, Some(p)) => {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let ck = train::Checkpoint::from_bytes(&bytes, &device).map_err(|e| format!("{}: {e}", p.display()))?;
            cfg = config_with(&ck.config, &a.flags.overrides)?;
            eprintln!("resuming from {} (epoch {}, step {})", p.display(), ck.progress.epoch, ck.progress.step);
            train::Start::Resume(ck)
        }
        (None, None) => train::Start::Fresh,
    };
    let dataset = if pictures {
        let d = import_pictures(&a.data[0], &cfg)?;
        // The class count comes from the folders, unless the config gave it
        // (then the pictures must have as many: checked before training).
        if cfg.classes.is_none() {
            cfg.classes = Some(d.num_classes());
        }
        cfg = checked(cfg)?;
        d
    } else {
        load_dataset(&a.data, cfg.dataset)?
    };
    eprintln!(
        "{} on {} ({} train / {} test images, {}), backend {}",
        cfg.model,
        cfg.dataset.id(),
        dataset.train.len(),
        dataset.test.len(),
        dataset.source,
        kind.id()
    );
    let result = train_with_progress(&cfg, &dataset, &device, kind, a.quiet, start, a.checkpoint.as_deref());
    let acc = result.test_accuracy.map_or("-".into(), |a| format!("{:.2}%", a * 100.0));
    eprintln!(
        "{:?}: {}  test accuracy {acc}  ({:.1}s, {:.0} img/s)",
        result.status, result.message, result.wall_seconds, result.img_per_s
    );
    // Per class, by name, where a line can hold them.
    let per_class: Vec<String> = result
        .class_names
        .iter()
        .zip(&result.per_class_accuracy)
        .map(|(c, a)| format!("{c} {}", a.map_or("-".into(), |a| format!("{:.1}%", a * 100.0))))
        .collect();
    if !per_class.is_empty() && per_class.len() <= 20 {
        eprintln!("test accuracy per class: {}", per_class.join(", "));
    }
    if let Some(out) = &a.out {
        std::fs::write(out, result.to_json()).map_err(|e| format!("{}: {e}", out.display()))?;
        eprintln!("result written to {}", out.display());
    }
    if let (Some(path), Some(net)) = (&a.save_model, &result.model) {
        let bytes = model_file::save_model_with_info(net, &result.config, &result.model_info());
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("model written to {}", path.display());
    }
    match result.status {
        train::Status::Finished | train::Status::Stopped => Ok(()),
        _ => Err(result.message),
    }
}

/// The runs of `--preset` or `--grid`, with the flags applied to each, and
/// the `group` their result files carry (the page's: which preset or grid
/// they belong to, so that imported runs are compared with the paper too).
fn plan_queue(a: &TrainArgs, pictures: Option<&Dataset>) -> Result<(Vec<PlannedRun>, Value), String> {
    let mut overrides = a.flags.overrides.clone();
    // Your pictures: every run trains on them (their class count from the folders).
    if let Some(d) = pictures {
        overrides.entry("dataset").or_insert_with(|| json!(DatasetKind::Images.id()));
        overrides.entry("classes").or_insert_with(|| json!(d.num_classes()));
    }
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
        let Ok(Value::Object(mut base)) = serde_json::to_value(paper_recipe(a)) else {
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
    // Pictures are imported before planning (the runs need their class count),
    // then again for a run whose size, fit, split or seed differs.
    let mut imported: Vec<(String, Result<Dataset, String>)> = Vec::new();
    let options_key = |c: &ExperimentConfig| format!("{:?}", c.import_options());
    if is_picture_source(&a.data) {
        let cfg = picture_config(&a)?;
        imported.push((options_key(&cfg), Ok(import_pictures(&a.data[0], &cfg)?)));
    }
    let (runs, group) = plan_queue(&a, imported.first().and_then(|(_, d)| d.as_ref().ok()))?;
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
    let given = if a.data.is_empty() || !imported.is_empty() {
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
            _ if !imported.is_empty() && cfg.dataset == DatasetKind::Images => {
                let key = options_key(cfg);
                if !imported.iter().any(|(k, _)| *k == key) {
                    imported.push((key.clone(), import_pictures(&a.data[0], cfg)));
                }
                let (_, d) = imported.iter().find(|(k, _)| *k == key).expect("just imported");
                d.as_ref().map_err(|e| e.clone())
            }
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
            Ok(d) => train_with_progress(cfg, d, &device, kind, a.quiet, train::Start::Fresh, None),
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
    let (net, mut cfg) = model_file::load_model(&bytes, &device).map_err(|e| format!("{}: {e}", path.display()))?;
    if test_limit.is_some() {
        cfg.test_limit = test_limit;
    }
    let dataset = match cfg.dataset {
        DatasetKind::Images => match data_paths {
            [p] if is_picture_source(data_paths) => import_pictures(p, &cfg)?,
            _ => return Err(format!("{}: a model of pictures is evaluated on pictures: --data FOLDER or --data FILE.zip", path.display())),
        },
        kind => load_dataset(data_paths, kind)?,
    };
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

/// `predict`: the model's top classes for each picture. A picture that
/// cannot be read is named on stderr and the others are still predicted
/// (exit code 1 then).
fn run_predict(path: &Path, images: &[PathBuf], top: usize, backend_name: &str, json: bool) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (device, _) = device_for(backend_name)?;
    let (net, cfg, mut info) = model_file::load_model_with_info(&bytes, &device).map_err(|e| format!("{}: {e}", path.display()))?;
    if info.pixel_mean.is_none() && cfg.mean_subtraction {
        eprintln!(
            "note: {} was saved before model files carried the training images' mean: the pictures are not \
             mean-subtracted as in training, so predictions are less accurate (save the model again with this version)",
            path.display()
        );
        info.pixel_mean = Some(vec![]);
    }
    let [c, side, _] = info.input;
    let (mut pixels, mut names, mut failed) = (Vec::new(), Vec::new(), 0usize);
    for p in images {
        let decoded = std::fs::read(p)
            .map_err(|e| e.to_string())
            .and_then(|b| data::images::decode_picture(&b, c, side, info.fit).map_err(|s| s.to_string()));
        match decoded {
            Ok(px) => {
                pixels.extend_from_slice(&px);
                names.push(p.display().to_string());
            }
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                failed += 1;
            }
        }
    }
    let probs = if names.is_empty() { vec![] } else { pollster::block_on(train::class_probabilities(&net, &info, &pixels, &device))? };
    let mut out = Vec::with_capacity(names.len());
    for (name, p) in names.iter().zip(&probs) {
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
        let best: Vec<(String, f32)> = order.into_iter().take(top.max(1)).map(|k| (info.class_names.get(k).cloned().unwrap_or_else(|| k.to_string()), p[k])).collect();
        if !json {
            let list: Vec<String> = best.iter().map(|(c, v)| format!("{c} {v:.4}")).collect();
            println!("{name}: {}", list.join(", "));
        }
        out.push(json!({"file": name, "top": best.iter().map(|(c, v)| json!({"class": c, "probability": v})).collect::<Vec<_>>()}));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out).expect("predictions serialise"));
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} of {} pictures could not be read (named above)", images.len())),
    }
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
