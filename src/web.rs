//! The bindings the page's Web Worker calls (`www/worker.js`).
//!
//! The worker owns one device, the loaded datasets and the trained (or
//! loaded) models; they live here in a thread-local (a worker is
//! single-threaded). Every function reports bad input as a JS `Error` with a
//! readable message, never by trapping.
//!
//! JSON in, JSON out. The shapes:
//! - `presets()`: `[{id, title, summary, look_for, budget_note, table, reference: [{match, label, test_error, note}]}]`
//! - `expand_preset(…)`, `expand_grid(…)`: `[{label, config}]`
//! - `evaluate_model(…)`: `{test_accuracy, test_loss, confusion_matrix, per_class_accuracy, test_predictions}`
//! - `layer_stats(…)`: `[{name, index, std}]` (Fig. 7; see `model::response_std` for the convention)
//! - `dataset_labels(…)`: `{labels, classes, channels, height, width}`
//! - `model_info(…)`: `{class_names, input, fit, model}`; `look_inside(…)` and
//!   `first_filters(…)` answer objects with typed arrays (see each)

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burn::module::Module;
use burn::tensor::Device;
use wasm_bindgen::prelude::*;

use crate::backend;
use crate::config::ExperimentConfig;
use crate::data::{self, Dataset, DatasetKind};
use crate::lab;
use crate::model::{self, Net};
use crate::model_file::{self, ModelInfo};
use crate::train;

/// Models kept at once (trained or loaded): each holds its weights on the
/// device, so the oldest is dropped beyond this.
const KEPT_MODELS: usize = 6;

/// Checkpoints kept at once: the running run's latest, and one loaded to
/// resume from (each holds a net and its optimizer state on the device).
const KEPT_CHECKPOINTS: usize = 2;

#[derive(Default)]
struct State {
    device: Option<(Device, &'static str)>,
    datasets: HashMap<String, Rc<Dataset>>,
    /// (run key, model), oldest first.
    models: Vec<(String, Rc<(Net, ExperimentConfig, ModelInfo)>)>,
    /// (run key or loaded key, checkpoint), oldest first.
    checkpoints: Vec<(String, Rc<train::Checkpoint>)>,
}

impl State {
    fn keep_model(&mut self, key: String, net: Net, cfg: ExperimentConfig, info: ModelInfo) {
        self.models.retain(|(k, _)| *k != key);
        // Evaluation mode: no autodiff graph is kept alive with the weights.
        self.models.push((key, Rc::new((net.valid(), cfg, info))));
        if self.models.len() > KEPT_MODELS {
            self.models.remove(0);
        }
    }

    fn keep_checkpoint(&mut self, key: String, ck: train::Checkpoint) {
        self.checkpoints.retain(|(k, _)| *k != key);
        self.checkpoints.push((key, Rc::new(ck)));
        if self.checkpoints.len() > KEPT_CHECKPOINTS {
            self.checkpoints.remove(0);
        }
    }

    fn checkpoint(&self, key: &str) -> Result<Rc<train::Checkpoint>, JsValue> {
        self.checkpoints
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, c)| c.clone())
            .ok_or_else(|| js_err(format!("no checkpoint kept as '{key}'")))
    }

    fn model(&self, key: &str) -> Result<Rc<(Net, ExperimentConfig, ModelInfo)>, JsValue> {
        self.models
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m.clone())
            .ok_or_else(|| js_err(format!("no model kept as '{key}' (only the last {KEPT_MODELS} trained or loaded models are kept)")))
    }

    fn dataset(&self, key: &str) -> Result<Rc<Dataset>, JsValue> {
        self.datasets.get(key).cloned().ok_or_else(|| js_err(format!("no dataset loaded as '{key}'")))
    }

    fn device(&self) -> Result<(Device, &'static str), JsValue> {
        self.device.clone().ok_or_else(|| js_err("no backend: call init_backend first"))
    }
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

#[wasm_bindgen(start)]
pub fn start() {
    crate::platform::run_static_constructors();
    console_error_panic_hook::set_once();
}

fn js_err(msg: impl AsRef<str>) -> JsValue {
    js_sys::Error::new(msg.as_ref()).into()
}

/// Initialise the backend: "webgpu" (async adapter/device request) or "cpu".
/// `kernels` ("software" | "default"), for WebGPU: which kernels to run, as
/// the caller decided from the adapter it chose (the page's worker does,
/// `www/gpu-adapter.js`); without it the engine asks the adapter itself.
#[wasm_bindgen]
pub async fn init_backend(kind: String, kernels: Option<String>) -> Result<String, JsValue> {
    let (device, name) = match kind.as_str() {
        #[cfg(feature = "wgpu")]
        "webgpu" => (backend::wgpu_device().await.map_err(js_err)?, "webgpu"),
        #[cfg(not(feature = "wgpu"))]
        "webgpu" => return Err(js_err("this engine is the CPU-only build (it has no WebGPU backend)")),
        "cpu" => (backend::cpu_device(), "cpu"),
        other => return Err(js_err(format!("unknown backend '{other}' (webgpu or cpu)"))),
    };
    if name == "webgpu" {
        match kernels.as_deref() {
            None | Some("") => {
                #[cfg(feature = "wgpu")]
                backend::set_software_kernels(&device, backend::software_adapter().await.is_some());
            }
            Some(k) => gpu_kernels(&device, k)?,
        }
    }
    STATE.with(|s| s.borrow_mut().device = Some((device, name)));
    Ok(serde_json::json!({ "backend": name, "threads": cpu_threads() }).to_string())
}

/// The threads the CPU backend spreads its work over: the pool's size in the
/// threaded engine (see `threads.rs`), else 1.
fn cpu_threads() -> usize {
    #[cfg(feature = "threads")]
    return crate::threads::threads();
    #[cfg(not(feature = "threads"))]
    1
}

/// Bytes of the engine's heap in use (`platform::heap_in_use`): what a leak
/// test compares, where the wasm memory's size is only a high-water mark.
#[wasm_bindgen]
pub fn heap_in_use() -> f64 {
    crate::platform::heap_in_use().unwrap_or(0) as f64
}

/// Parse dataset files into slot `key`. On error the slot keeps what it had.
#[wasm_bindgen]
pub fn load_dataset(key: String, names: Vec<String>, arrays: Vec<js_sys::Uint8Array>, hint: Option<String>) -> Result<String, JsValue> {
    if names.len() != arrays.len() {
        return Err(js_err("load_dataset: names and arrays differ in length"));
    }
    let hint = match hint.as_deref() {
        None | Some("") => None,
        Some(h) => Some(DatasetKind::parse(h).ok_or_else(|| js_err(format!("unknown dataset kind '{h}'")))?),
    };
    let files: Vec<(String, Vec<u8>)> = names.into_iter().zip(arrays.iter().map(|a| a.to_vec())).collect();
    let mut dataset = data::load_files(&files, hint).map_err(|e| js_err(e.to_string()))?;
    if key.starts_with("sample-") {
        dataset.source = "built-in sample".into();
    }
    let info = dataset.info_json().to_string();
    STATE.with(|s| s.borrow_mut().datasets.insert(key, Rc::new(dataset)));
    Ok(info)
}

/// Where each of the user's files goes, from the paths alone
/// (`data::images::place_files`), so the page decodes only the pictures:
/// `{places: [{class, split: "train"|"test"|null} | {skip: reason} | {}], class_names}`
/// in the order of `names_json` (a JSON list of paths); `{}` is a file left
/// out without mention (dot-files, `__MACOSX/`).
#[wasm_bindgen]
pub fn place_pictures(names_json: String) -> Result<String, JsValue> {
    use data::images::{self, Place, Skip, Split};
    let names: Vec<String> = serde_json::from_str(&names_json).map_err(|e| js_err(format!("place_pictures: {e}")))?;
    if names.len() > images::MAX_FILES {
        let e = data::DataError::new(format!("{} files", names.len()), data::Problem::TooManyFiles { limit: images::MAX_FILES });
        return Err(js_err(e.to_string()));
    }
    let places = images::place_files(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let list: Vec<serde_json::Value> = places
        .iter()
        .map(|p| match p {
            Place::Picture { class, split } => {
                let split = split.map(|s| if s == Split::Test { "test" } else { "train" });
                serde_json::json!({ "class": class, "split": split })
            }
            Place::Loose => serde_json::json!({ "skip": Skip::NotInClassFolder.to_string() }),
            Place::Ignored => serde_json::json!({}),
        })
        .collect();
    Ok(serde_json::json!({ "places": list, "class_names": images::class_names(&places) }).to_string())
}

/// The user's pictures, decoded by the page, as dataset slot `key`: `names_json`
/// are all the paths given to `place_pictures`, `decoded_json` the indices of
/// those whose pixels follow one another in `pixels` (3 × size × size bytes
/// each, channel-major), `skipped_json` the files the page left out
/// (`[{name, reason}]`, passed through). Splits as `data::images::assemble`
/// says. Returns the dataset's `info_json` with `skipped`.
#[allow(clippy::too_many_arguments)]
#[wasm_bindgen]
pub fn load_pictures(
    key: String,
    names_json: String,
    decoded_json: String,
    pixels: js_sys::Uint8Array,
    size: usize,
    fit: String,
    test_fraction: f64,
    seed: u64,
    skipped_json: String,
) -> Result<String, JsValue> {
    use data::images::{self, ImageFit, ImportOptions, Picture, Place};
    let names: Vec<String> = serde_json::from_str(&names_json).map_err(|e| js_err(format!("load_pictures: names: {e}")))?;
    let decoded: Vec<usize> = serde_json::from_str(&decoded_json).map_err(|e| js_err(format!("load_pictures: decoded: {e}")))?;
    let skipped: serde_json::Value = serde_json::from_str(&skipped_json).unwrap_or_else(|_| serde_json::json!([]));
    let fit = match fit.as_str() {
        "crop" => ImageFit::Crop,
        "pad" => ImageFit::Pad,
        other => return Err(js_err(format!("load_pictures: fit '{other}' is neither crop nor pad"))),
    };
    let opts = ImportOptions { size, fit, test_fraction, seed };
    let places = images::place_files(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let classes = images::class_names(&places);
    let source = match names.first().and_then(|n| n.split(['/', '\\']).find(|c| !c.is_empty())) {
        Some(top) if names.iter().all(|n| n.trim_start_matches(['/', '\\']).starts_with(top)) => top.to_string(),
        _ => format!("{} files", names.len()),
    };
    let ppi = images::CHANNELS * size * size;
    if pixels.length() as usize > data::MAX_UNPACKED_BYTES {
        let problem = data::Problem::PixelsTooLarge { pictures: decoded.len(), size, limit: data::MAX_UNPACKED_BYTES };
        return Err(js_err(data::DataError::new(source, problem).to_string()));
    }
    let pixels = pixels.to_vec();
    if ppi == 0 || pixels.len() != decoded.len() * ppi {
        return Err(js_err(format!("load_pictures: {} bytes of pixels for {} pictures of {size}×{size}", pixels.len(), decoded.len())));
    }
    if decoded.is_empty() {
        let n = skipped.as_array().map_or(0, Vec::len);
        return Err(js_err(data::DataError::new(source, data::Problem::NoPictures { skipped: n }).to_string()));
    }
    // In name order, as the CLI's import reads a folder: the same seed then
    // splits and shuffles the same pictures the same way.
    let mut order: Vec<(usize, usize)> = decoded.iter().copied().enumerate().collect();
    order.sort_by(|a, b| names.get(a.1).cmp(&names.get(b.1)));
    let mut pictures = Vec::with_capacity(decoded.len());
    for (k, i) in order {
        let Some(Place::Picture { class, split }) = places.get(i) else {
            return Err(js_err(format!("load_pictures: file {i} is not a picture in a class folder")));
        };
        let class = classes.binary_search(class).unwrap_or(0);
        pictures.push(Picture { class, split: *split, pixels: pixels[k * ppi..(k + 1) * ppi].to_vec() });
    }
    drop(pixels);
    let dataset = images::assemble(classes, pictures, &opts, source).map_err(|e| js_err(e.to_string()))?;
    let mut info = dataset.info_json();
    info["skipped"] = skipped;
    STATE.with(|s| s.borrow_mut().datasets.insert(key, Rc::new(dataset)));
    Ok(info.to_string())
}

#[wasm_bindgen]
pub fn default_config() -> String {
    ExperimentConfig::default().to_json()
}

/// The config schema (`schema::schema`): fields, types, defaults, ranges,
/// choices with labels, groups, model ids. The page's `www/schema.js` is the
/// same, written at build time; the page checks that they agree.
#[wasm_bindgen]
pub fn config_schema() -> String {
    crate::schema::schema_json()
}

#[wasm_bindgen]
pub fn model_ids() -> String {
    serde_json::to_string(&model::MODEL_IDS).expect("ids serialise")
}

/// `[]` when the config is fine, else `[{field, message}, …]`.
/// With `dataset_key` naming a loaded dataset of the config's kind, the sizes
/// are checked against it too (a validation split that leaves no training
/// images is refused in the form, not when the run starts).
#[wasm_bindgen]
pub fn validate_config(json: String, dataset_key: Option<String>) -> String {
    let problems = match ExperimentConfig::from_json(&json) {
        Ok(cfg) => {
            let data = dataset_key.and_then(|k| STATE.with(|s| s.borrow().datasets.get(&k).cloned()));
            match data {
                Some(d) if d.kind == cfg.dataset => cfg.validate_against(&d),
                _ => cfg.validate(),
            }
        }
        Err(e) => vec![crate::config::FieldError { field: "config", message: e }],
    };
    serde_json::to_string(&problems).expect("problems serialise")
}

#[wasm_bindgen]
pub fn describe_model(json: String) -> Result<String, JsValue> {
    let cfg = ExperimentConfig::from_json(&json).map_err(js_err)?;
    let d = model::describe(&cfg.model_spec()).map_err(js_err)?;
    Ok(serde_json::to_string(&d).expect("description serialises"))
}

/// Pause/resume/stop flags of a running `train`.
#[wasm_bindgen]
pub struct Control {
    inner: train::Control,
}

#[wasm_bindgen]
impl Control {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Control {
        Control { inner: train::Control::new() }
    }
    pub fn pause(&self) {
        self.inner.pause();
    }
    pub fn resume(&self) {
        self.inner.resume();
    }
    pub fn stop(&self) {
        self.inner.stop();
    }
}

impl Default for Control {
    fn default() -> Self {
        Self::new()
    }
}

/// Train on dataset slot `key`; `on_event` receives each event as a JSON
/// string; the promise resolves to the result JSON (whatever the status).
/// The trained model is kept under `run_key` (for `save_model`,
/// `evaluate_model`, `layer_stats`, or a later run's `init_model`), and each
/// epoch's checkpoint under `run_key` too (`save_checkpoint`). With
/// `init_model`, training starts from that kept model's weights (fresh
/// optimizer, schedule from step 0); a model of another architecture or input
/// shape fails the run with a message. With `resume` (a key given to
/// `load_checkpoint`), the run whose checkpoint that is goes on exactly where
/// it stopped; `config_json` must be that run's config.
#[wasm_bindgen]
pub fn train(
    config_json: String,
    key: String,
    control: &Control,
    on_event: js_sys::Function,
    run_key: String,
    init_model: Option<String>,
    resume: Option<String>,
) -> js_sys::Promise {
    let control = control.inner.clone();
    wasm_bindgen_futures::future_to_promise(async move {
        let cfg = ExperimentConfig::from_json(&config_json).map_err(js_err)?;
        let (device, name, dataset, init) = STATE.with(|s| {
            let s = s.borrow();
            let (device, name) = s.device()?;
            let dataset = s.dataset(&key)?;
            let init = match (resume.as_deref(), init_model.as_deref()) {
                (Some(k), _) if !k.is_empty() => train::Start::Resume((*s.checkpoint(k)?).clone()),
                (_, None | Some("")) => train::Start::Fresh,
                (_, Some(k)) => train::Start::Weights(s.model(k)?.0.clone()),
            };
            Ok::<_, JsValue>((device, name, dataset, init))
        })?;
        if let Some(k) = resume.as_deref() {
            // The run holds its own copy now; the device memory goes with it.
            STATE.with(|s| s.borrow_mut().checkpoints.retain(|(c, _)| c != k));
        }
        let mut emit = |e: &train::Event| {
            let _ = on_event.call1(&JsValue::NULL, &JsValue::from_str(&e.to_json()));
        };
        // What the kept models' files will carry: the classes and the run's pixel mean.
        let info = train::model_info(&cfg, &dataset);
        // Each epoch's net and checkpoint are kept under run_key as it goes:
        // the page saves the checkpoint (save_checkpoint), and the final net
        // replaces the model.
        let mut checkpoint = |ck: train::Checkpoint| {
            STATE.with(|s| {
                let mut s = s.borrow_mut();
                s.keep_model(run_key.clone(), ck.net.clone(), cfg.clone(), info.clone());
                s.keep_checkpoint(run_key.clone(), ck);
            });
        };
        let mut result =
            train::train_checkpointed(&cfg, &dataset, &device, name, &control, &mut emit, init, &mut checkpoint).await;
        if let Some(net) = result.model.take() {
            STATE.with(|s| s.borrow_mut().keep_model(run_key, net, cfg, info));
        }
        Ok(JsValue::from_str(&result.to_json()))
    })
}

/// The preset list: `[{id, title, summary, look_for, budget_note, table, reference}]`.
#[wasm_bindgen]
pub fn presets() -> String {
    serde_json::to_string(&lab::presets()).expect("presets serialise")
}

/// A preset's runs, `[{label, config}]`. `budget`: smoke | classroom | paper;
/// `scale` multiplies the classroom run length; `overrides_json` ("" or a
/// partial config) is applied last to every run.
#[wasm_bindgen]
pub fn expand_preset(id: String, budget: String, scale: f64, overrides_json: String) -> Result<String, JsValue> {
    let budget = lab::Budget::parse(&budget).map_err(js_err)?;
    let overrides = lab::parse_partial("overrides", &overrides_json).map_err(js_err)?;
    let runs = lab::expand_preset(&id, budget, scale, &overrides).map_err(js_err)?;
    Ok(serde_json::to_string(&runs).expect("runs serialise"))
}

/// A preset's claims judged on the page's runs of it (`records_json`: a list
/// of result records, the page's *Export JSON* format):
/// `[{claim, verdict: shows|partly|does_not_show|not_run, evidence}]`.
#[wasm_bindgen]
pub fn check_claims(preset_id: String, records_json: String) -> Result<String, JsValue> {
    let (entries, _) = crate::report::read_results("page", &records_json);
    let table = crate::report::Table::new(entries, Some(&preset_id)).map_err(js_err)?;
    Ok(serde_json::to_string(&table.claims()).expect("claims serialise"))
}

/// A grid document's runs, `[{label, config}]` (format: `src/lab/mod.rs`).
#[wasm_bindgen]
pub fn expand_grid(grid_json: String) -> Result<String, JsValue> {
    let runs = lab::Grid::from_json(&grid_json).and_then(|g| g.expand()).map_err(js_err)?;
    Ok(serde_json::to_string(&runs).expect("runs serialise"))
}

/// The model file (`RESLABMODEL1`, header with config and classes, Burn
/// record) of a kept model.
/// A promise (resolving to a `Uint8Array`): on WebGPU the weights can only
/// be read back asynchronously.
#[wasm_bindgen]
pub fn save_model(run_key: String) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let m = STATE.with(|s| s.borrow().model(&run_key))?;
        let bytes = model_file::save_model_async_with_info(&m.0, &m.1, &m.2).await.map_err(js_err)?;
        Ok(js_sys::Uint8Array::from(&bytes[..]).into())
    })
}

/// The checkpoint file (`RESLABCKPT1`) of the run kept as `run_key`, its
/// latest epoch. A promise resolving to `{bytes: Uint8Array, optimizer_state}`:
/// the CPU engine includes the optimizer state; WebGPU cannot read it back
/// synchronously, so its checkpoints hold the weights only (`optimizer_state`
/// false, and a resume from it restarts momentum/Adam's moments).
#[wasm_bindgen]
pub fn save_checkpoint(run_key: String) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let (ck, (_, name)) = STATE.with(|s| {
            let s = s.borrow();
            Ok::<_, JsValue>((s.checkpoint(&run_key)?, s.device()?))
        })?;
        let with_optimizer = name == "cpu";
        let bytes = ck.to_bytes(with_optimizer).await.map_err(js_err)?;
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"bytes".into(), &js_sys::Uint8Array::from(&bytes[..]))?;
        js_sys::Reflect::set(&out, &"optimizer_state".into(), &JsValue::from_bool(with_optimizer && ck.optimizer.is_some()))?;
        Ok(out.into())
    })
}

/// Read a checkpoint file and keep it under `key` for a `train(…, resume: key)`.
/// Returns `{config, epoch, step, optimizer_state}` as JSON.
#[wasm_bindgen]
pub fn load_checkpoint(key: String, bytes: js_sys::Uint8Array) -> Result<String, JsValue> {
    let (device, _) = STATE.with(|s| s.borrow().device())?;
    let ck = train::Checkpoint::from_bytes(&bytes.to_vec(), &device).map_err(js_err)?;
    let info = serde_json::json!({
        "config": ck.config,
        "epoch": ck.progress.epoch,
        "step": ck.progress.step,
        "optimizer_state": ck.optimizer.is_some(),
    })
    .to_string();
    STATE.with(|s| s.borrow_mut().keep_checkpoint(key, ck));
    Ok(info)
}

#[wasm_bindgen]
pub fn forget_checkpoint(key: String) {
    STATE.with(|s| s.borrow_mut().checkpoints.retain(|(k, _)| *k != key));
}

/// Load a model file and keep it under `run_key`; returns its config JSON.
#[wasm_bindgen]
pub fn load_model(run_key: String, bytes: js_sys::Uint8Array) -> Result<String, JsValue> {
    let (device, _) = STATE.with(|s| s.borrow().device())?;
    let (net, cfg, info) = model_file::load_model_with_info(&bytes.to_vec(), &device).map_err(js_err)?;
    let json = cfg.to_json();
    STATE.with(|s| s.borrow_mut().keep_model(run_key, net, cfg, info));
    Ok(json)
}

#[wasm_bindgen]
pub fn forget_model(run_key: String) {
    STATE.with(|s| s.borrow_mut().models.retain(|(k, _)| *k != run_key));
}

/// The keys of the kept models, oldest first (JSON array): the worker moves
/// them when it changes engine (WebGPU ↔ threaded CPU).
#[wasm_bindgen]
pub fn model_keys() -> String {
    let keys: Vec<String> = STATE.with(|s| s.borrow().models.iter().map(|(k, _)| k.clone()).collect());
    serde_json::to_string(&keys).expect("keys serialise")
}

#[wasm_bindgen]
pub fn forget_dataset(key: String) {
    STATE.with(|s| s.borrow_mut().datasets.remove(&key));
}

/// Evaluate a kept model on the test split of dataset slot `dataset_key`, as
/// its run did (the config's `test_limit`, the training split's mean).
/// Resolves to `{test_accuracy, test_loss, confusion_matrix, per_class_accuracy, test_predictions}`.
#[wasm_bindgen]
pub fn evaluate_model(run_key: String, dataset_key: String) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let (m, dataset, (device, _)) = STATE.with(|s| {
            let s = s.borrow();
            Ok::<_, JsValue>((s.model(&run_key)?, s.dataset(&dataset_key)?, s.device()?))
        })?;
        let report = train::evaluate_test(&m.0, &m.1, &dataset, &device).await.map_err(js_err)?;
        Ok(JsValue::from_str(&serde_json::to_string(&report).expect("report serialises")))
    })
}

/// What a kept model expects and names: `{class_names, input: [c, h, w],
/// fit, model, dataset}` as JSON (the page prepares a drawn or dropped picture with it).
#[wasm_bindgen]
pub fn model_info(run_key: String) -> Result<String, JsValue> {
    let m = STATE.with(|s| s.borrow().model(&run_key))?;
    let info = &m.2;
    Ok(serde_json::json!({
        "class_names": info.class_names,
        "input": info.input,
        "fit": info.fit.id(),
        "model": m.1.model,
        "dataset": m.1.dataset.id(),
    })
    .to_string())
}

/// One picture through a kept model (`pixels`: its input, channel-major u8).
/// Resolves to `{probabilities: Float32Array, maps: JSON [{name, channels,
/// height, width}], pixels: Uint8Array}`: the class probabilities and, when
/// `maps`, every convolution stage's feature maps one after the other
/// (`model::feature_maps`; none for the MLP).
#[wasm_bindgen]
pub fn look_inside(run_key: String, pixels: js_sys::Uint8Array, maps: bool) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let (m, (device, _)) = STATE.with(|s| {
            let s = s.borrow();
            Ok::<_, JsValue>((s.model(&run_key)?, s.device()?))
        })?;
        let (probs, stages) = train::look_inside(&m.0, &m.2, &pixels.to_vec(), maps, &device).await.map_err(js_err)?;
        let bytes: Vec<u8> = stages.iter().flat_map(|f| f.pixels.iter().copied()).collect();
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"probabilities".into(), &js_sys::Float32Array::from(&probs[..]))?;
        js_sys::Reflect::set(&out, &"maps".into(), &JsValue::from_str(&serde_json::to_string(&stages).expect("maps serialise")))?;
        js_sys::Reflect::set(&out, &"pixels".into(), &js_sys::Uint8Array::from(&bytes[..]))?;
        Ok(out.into())
    })
}

/// The first layer's filters of a kept model as images. Resolves to
/// `{filters: JSON {name, count, total, channels, height, width}, pixels: Uint8Array}`
/// (`model::first_filters`: 128 is a zero weight).
#[wasm_bindgen]
pub fn first_filters(run_key: String) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let m = STATE.with(|s| s.borrow().model(&run_key))?;
        let f = model::first_filters(&m.0).await.map_err(js_err)?;
        let out = js_sys::Object::new();
        js_sys::Reflect::set(&out, &"filters".into(), &JsValue::from_str(&serde_json::to_string(&f).expect("filters serialise")))?;
        js_sys::Reflect::set(&out, &"pixels".into(), &js_sys::Uint8Array::from(&f.pixels[..]))?;
        Ok(out.into())
    })
}

/// Fig. 7 for a kept model on the first `n` test images of `dataset_key`
/// (preprocessed as in the run's evaluation). Resolves to `[{name, index, std}]`:
/// per layer, the per-channel std of the response after BN (before ReLU or
/// the addition) over images and positions, averaged over channels.
#[wasm_bindgen]
pub fn layer_stats(run_key: String, dataset_key: String, n: u32) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let (m, dataset, (device, _)) = STATE.with(|s| {
            let s = s.borrow();
            Ok::<_, JsValue>((s.model(&run_key)?, s.dataset(&dataset_key)?, s.device()?))
        })?;
        let (net, cfg) = (&m.0, &m.1);
        if dataset.channels() != cfg.dataset.channels() || dataset.size() != cfg.input_size() {
            return Err(js_err(format!("the model is for {} images but the dataset is {}", cfg.dataset.display_name(), dataset.kind.display_name())));
        }
        let prep = train::prepare(cfg, &dataset);
        let stats = model::response_std(net, &prep.test, &prep.mean, n as usize, &device).await.map_err(js_err)?;
        Ok(JsValue::from_str(&serde_json::to_string(&stats).expect("stats serialise")))
    })
}

/// Raw pixels of test images `start..start+count` (clamped to the split) of
/// dataset slot `dataset_key`: u8, laid out `[n][c][h][w]` as the files store
/// CIFAR-10 (channel-major per image: all red, then green, then blue; MNIST
/// has one channel), `c·h·w` bytes per image.
#[wasm_bindgen]
pub fn dataset_images(dataset_key: String, start: u32, count: u32) -> Result<js_sys::Uint8Array, JsValue> {
    let dataset = STATE.with(|s| s.borrow().dataset(&dataset_key))?;
    let test = &dataset.test;
    let start = (start as usize).min(test.len());
    let end = start.saturating_add(count as usize).min(test.len());
    let ppi = test.pixels_per_image();
    Ok(js_sys::Uint8Array::from(&test.images[start * ppi..end * ppi]))
}

/// `{labels: [test labels], classes: ["airplane", …] or ["0", …, "9"], channels, height, width}`.
#[wasm_bindgen]
pub fn dataset_labels(dataset_key: String) -> Result<String, JsValue> {
    let dataset = STATE.with(|s| s.borrow().dataset(&dataset_key))?;
    let t = &dataset.test;
    Ok(serde_json::json!({
        "labels": t.labels,
        "classes": dataset.class_names,
        "channels": t.channels,
        "height": t.height,
        "width": t.width,
    })
    .to_string())
}

/// Time training steps (the TF.js/PyTorch reference protocol) on the current backend.
/// `spec_json`: {"model","optimizer","batch","warmup","steps","budget","memory_steps"}.
/// `after_step` (optional) is called with the step's index once each step
/// has finished (its loss read back), warm-up steps included.
#[wasm_bindgen]
pub fn bench(spec_json: String, after_step: Option<js_sys::Function>) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let v: serde_json::Value = serde_json::from_str(&spec_json).map_err(|e| js_err(format!("bench spec: {e}")))?;
        let get = |k: &str, d: f64| v.get(k).and_then(|x| x.as_f64()).unwrap_or(d);
        let spec = crate::bench::BenchSpec {
            model: v.get("model").and_then(|x| x.as_str()).unwrap_or("resnet20").into(),
            optimizer: v.get("optimizer").and_then(|x| x.as_str()).unwrap_or("sgdm").into(),
            batch: get("batch", 32.0) as usize,
            warmup: get("warmup", 3.0) as usize,
            steps: get("steps", 10.0) as usize,
            budget: get("budget", 120.0),
            memory_steps: get("memory_steps", 0.0) as usize,
        };
        let (device, name) = STATE
            .with(|s| s.borrow().device.clone())
            .ok_or_else(|| js_err("no backend: call init_backend first"))?;
        let mut observe = |i: usize| {
            if let Some(f) = &after_step {
                let _ = f.call1(&JsValue::NULL, &JsValue::from_f64(i as f64));
            }
        };
        let r = crate::bench::run_observed(&spec, &device, name, &mut observe).await.map_err(js_err)?;
        Ok(JsValue::from_str(&serde_json::to_string(&r).expect("serialises")))
    })
}

/// The GPU self-check (`selfcheck::run`) on the current device, which must be
/// WebGPU's: resolves to `{ok, failure, compared: [{op, part, max_abs_diff, scale, ok}]}`.
/// `corrupt` (test mode only, the worker refuses it otherwise): an op whose
/// GPU output is made wrong, to see the fallback happen.
#[wasm_bindgen]
pub fn gpu_self_check(corrupt: Option<String>) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let (device, name) = STATE.with(|s| s.borrow().device())?;
        if name != "webgpu" {
            return Err(js_err("the self-check compares a WebGPU device with the CPU; the engine is on the CPU"));
        }
        let r = crate::selfcheck::run(&device, corrupt.as_deref().filter(|c| !c.is_empty())).await.map_err(js_err)?;
        Ok(JsValue::from_str(&serde_json::to_string(&r).expect("serialises")))
    })
}

/// Which kernels the WebGPU backend runs: `software` (written for a
/// software adapter, on which their "GPU" is the CPU) or `default` (Burn's,
/// the hardware path). The worker sets it from the adapter it chose
/// (`www/gpu-adapter.js`); its measuring mode can force `default` on a
/// software adapter to count what a hardware GPU would be asked to do.
/// A setting of the engine's WebGPU device; on the CPU it changes nothing.
#[wasm_bindgen]
pub fn set_gpu_kernels(kind: String) -> Result<(), JsValue> {
    match STATE.with(|s| s.borrow().device.clone()) {
        Some((device, "webgpu")) => gpu_kernels(&device, &kind),
        _ => Ok(()),
    }
}

fn gpu_kernels(device: &Device, kind: &str) -> Result<(), JsValue> {
    let software = match kind {
        "software" => true,
        "default" => false,
        other => return Err(js_err(format!("unknown kernels '{other}' (software or default)"))),
    };
    #[cfg(feature = "wgpu")]
    backend::set_software_kernels(device, software);
    #[cfg(not(feature = "wgpu"))]
    let _ = (device, software);
    Ok(())
}

/// Time `steps` training steps (after `warmup`) of a run's own config on the
/// current backend, on synthetic data of its dataset's shape, within `budget`
/// seconds: the page's measurement of this machine's speed before a study.
#[wasm_bindgen]
pub fn measure_config(config_json: String, warmup: u32, steps: u32, budget: f64) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        let cfg = ExperimentConfig::from_json(&config_json).map_err(js_err)?;
        let (device, name) = STATE
            .with(|s| s.borrow().device.clone())
            .ok_or_else(|| js_err("no backend: call init_backend first"))?;
        let r = crate::bench::run_config(&cfg, warmup as usize, steps as usize, budget, &device, name).await.map_err(js_err)?;
        Ok(JsValue::from_str(&serde_json::to_string(&r).expect("serialises")))
    })
}
