//! The bindings the page's Web Worker calls (`www/worker.js`).
//!
//! The worker owns one device and the loaded datasets; they live here in a
//! thread-local (a worker is single-threaded). Every function reports bad
//! input as a JS `Error` with a readable message, never by trapping.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burn::tensor::Device;
use wasm_bindgen::prelude::*;

use crate::backend;
use crate::config::ExperimentConfig;
use crate::data::{self, Dataset, DatasetKind};
use crate::model;
use crate::train;

#[derive(Default)]
struct State {
    device: Option<(Device, &'static str)>,
    datasets: HashMap<String, Rc<Dataset>>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

fn js_err(msg: impl AsRef<str>) -> JsValue {
    js_sys::Error::new(msg.as_ref()).into()
}

/// Initialise the backend: "webgpu" (async adapter/device request) or "cpu".
#[wasm_bindgen]
pub async fn init_backend(kind: String) -> Result<String, JsValue> {
    let (device, name) = match kind.as_str() {
        "webgpu" => (backend::wgpu_device().await.map_err(js_err)?, "webgpu"),
        "cpu" => (backend::cpu_device(), "cpu"),
        other => return Err(js_err(format!("unknown backend '{other}' (webgpu or cpu)"))),
    };
    STATE.with(|s| s.borrow_mut().device = Some((device, name)));
    Ok(serde_json::json!({ "backend": name }).to_string())
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

#[wasm_bindgen]
pub fn default_config() -> String {
    ExperimentConfig::default().to_json()
}

#[wasm_bindgen]
pub fn model_ids() -> String {
    serde_json::to_string(&model::MODEL_IDS).expect("ids serialise")
}

/// `[]` when the config is fine, else `[{field, message}, …]`.
#[wasm_bindgen]
pub fn validate_config(json: String) -> String {
    let problems = match ExperimentConfig::from_json(&json) {
        Ok(cfg) => cfg.validate(),
        Err(e) => vec![crate::config::FieldError { field: "config", message: e }],
    };
    serde_json::to_string(&problems).expect("problems serialise")
}

#[wasm_bindgen]
pub fn describe_model(json: String) -> Result<String, JsValue> {
    let cfg = ExperimentConfig::from_json(&json).map_err(js_err)?;
    let d = model::describe(&cfg).map_err(js_err)?;
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
#[wasm_bindgen]
pub fn train(config_json: String, key: String, control: &Control, on_event: js_sys::Function) -> js_sys::Promise {
    let control = control.inner.clone();
    wasm_bindgen_futures::future_to_promise(async move {
        let cfg = ExperimentConfig::from_json(&config_json).map_err(js_err)?;
        let (device, name, dataset) = STATE.with(|s| {
            let s = s.borrow();
            let (device, name) = s.device.clone().ok_or_else(|| js_err("no backend: call init_backend first"))?;
            let dataset = s
                .datasets
                .get(&key)
                .cloned()
                .ok_or_else(|| js_err(format!("no dataset loaded as '{key}'")))?;
            Ok::<_, JsValue>((device, name, dataset))
        })?;
        let mut emit = |e: &train::Event| {
            let _ = on_event.call1(&JsValue::NULL, &JsValue::from_str(&e.to_json()));
        };
        let result = train::train(&cfg, &dataset, &device, name, &control, &mut emit).await;
        Ok(JsValue::from_str(&result.to_json()))
    })
}

/// Time training steps (the TF.js/PyTorch reference protocol) on the current backend.
/// `spec_json`: {"model","optimizer","batch","warmup","steps","budget"}.
#[wasm_bindgen]
pub fn bench(spec_json: String) -> js_sys::Promise {
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
        };
        let (device, name) = STATE
            .with(|s| s.borrow().device.clone())
            .ok_or_else(|| js_err("no backend: call init_backend first"))?;
        let r = crate::bench::run(&spec, &device, name).await.map_err(js_err)?;
        Ok(JsValue::from_str(&serde_json::to_string(&r).expect("serialises")))
    })
}
