//! The model file: a trained net with the config that built it, so that a
//! file alone is enough to rebuild, evaluate or continue training the net,
//! and to predict: it names the classes and says how a picture is prepared.
//!
//! Layout:
//!
//! ```text
//! RESLABMODEL1\n                 13 bytes of magic
//! u32 little-endian N            length of the header JSON
//! N bytes                        the header: {"config": ExperimentConfig,
//!                                "class_names": [...], "input": [c, h, w],
//!                                "fit": "crop"|"pad", "pixel_mean": [...]|null}
//! the rest                       Burn's record of the net's parameters (burnpack),
//!                                BN running statistics included
//! ```
//!
//! Files written before the header grew hold the bare config JSON there; they
//! still load, with the standard sets' class names and no pixel mean
//! ([`ModelInfo::for_config`]).
//!
//! Burn 0.22 has no `BinBytesRecorder` any more: its record system is the
//! non-generic `ModuleRecord`, serialised as burnpack (`into_bytes` /
//! `from_bytes`), which is what the last part holds.
//!
//! The record keeps each parameter's id, so an optimizer state saved beside
//! the net (a checkpoint, `train::checkpoint`) finds its parameters again.
//!
//! Loading checks everything and reports a problem as an error, never a
//! panic: a file that is not ours, a cut-off file, a config that is not valid,
//! or parameters that do not fit the architecture the config describes.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, TensorData};

use serde::{Deserialize, Serialize};

use crate::config::{ExperimentConfig, ImageFit};
use crate::data::DatasetKind;
use crate::model::Net;

pub const MAGIC: &[u8; 13] = b"RESLABMODEL1\n";

/// What a model file says about its net besides the config: the names of
/// the classes it predicts and how an input picture is prepared, so that a
/// net trained on cats and dogs says "cat" or "dog" wherever it is loaded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The classes in label order (the standard sets' names, or the folder
    /// names of your pictures).
    pub class_names: Vec<String>,
    /// `[channels, height, width]` of one input.
    pub input: [usize; 3],
    /// How a picture that is not square was made square in training.
    pub fit: ImageFit,
    /// The per-pixel mean training subtracted (C·H·W values in pixel/255
    /// units; empty when it subtracted none). `None`: the file does not say
    /// (written before model files carried it).
    pub pixel_mean: Option<Vec<f32>>,
}

impl ModelInfo {
    /// What a run of `cfg` on data with these classes leaves for its model.
    pub fn new(cfg: &ExperimentConfig, class_names: Vec<String>, pixel_mean: Option<Vec<f32>>) -> Self {
        ModelInfo { class_names, input: cfg.model_spec().input(), fit: cfg.image_fit, pixel_mean }
    }

    /// What the config alone tells: the standard sets' class names (your
    /// pictures' classes by number), no pixel mean.
    pub fn for_config(cfg: &ExperimentConfig) -> Self {
        let names: Vec<String> = match cfg.dataset {
            DatasetKind::Images => (0..cfg.num_classes()).map(|i| i.to_string()).collect(),
            kind => kind.class_names().iter().map(|s| s.to_string()).collect(),
        };
        Self::new(cfg, names, None)
    }

    /// Whether this fits the net `cfg` builds; the problem if not.
    fn check(&self, cfg: &ExperimentConfig) -> Result<(), String> {
        let spec = cfg.model_spec();
        if self.class_names.len() != spec.classes {
            return Err(format!("it names {} classes but its net predicts {}", self.class_names.len(), spec.classes));
        }
        if self.input != spec.input() || self.fit != cfg.image_fit {
            return Err(format!("its input ({:?}, {}) is not its config's ({:?}, {})", self.input, self.fit.id(), spec.input(), cfg.image_fit.id()));
        }
        match &self.pixel_mean {
            Some(m) if !m.is_empty() && (m.len() != self.input.iter().product::<usize>() || !m.iter().all(|v| v.is_finite())) => {
                Err(format!("its pixel mean has {} values, not the {} of one finite {:?} input", m.len(), self.input.iter().product::<usize>(), self.input))
            }
            _ => Ok(()),
        }
    }
}

/// The header JSON of a file.
#[derive(Serialize, Deserialize)]
struct Header {
    config: ExperimentConfig,
    #[serde(flatten)]
    info: ModelInfo,
}

/// The file's bytes, with what the config alone tells about the net
/// ([`ModelInfo::for_config`]); a trained run's model is saved with
/// [`save_model_with_info`]. Reads the parameters back synchronously: fine
/// natively and on the CPU backend; on WebGPU in the browser use
/// [`save_model_async`].
pub fn save_model(net: &Net, cfg: &ExperimentConfig) -> Vec<u8> {
    save_model_with_info(net, cfg, &ModelInfo::for_config(cfg))
}

/// [`save_model`] with the class names and pixel mean of the run.
pub fn save_model_with_info(net: &Net, cfg: &ExperimentConfig, info: &ModelInfo) -> Vec<u8> {
    let record = net.valid().into_record().into_bytes().expect("an in-memory record serialises");
    let header = Header { config: cfg.clone(), info: info.clone() };
    let header = serde_json::to_vec(&header).expect("the header serialises");
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + record.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&record);
    out
}

/// [`save_model`] for any device: the parameters are read back
/// asynchronously (WebGPU cannot block), copied into the same net built on
/// the CPU backend, and that copy is saved.
pub async fn save_model_async(net: &Net, cfg: &ExperimentConfig) -> Result<Vec<u8>, String> {
    save_model_async_with_info(net, cfg, &ModelInfo::for_config(cfg)).await
}

/// [`save_model_async`] with the class names and pixel mean of the run.
pub async fn save_model_async_with_info(net: &Net, cfg: &ExperimentConfig, info: &ModelInfo) -> Result<Vec<u8>, String> {
    let mut collect = Collect::default();
    net.valid().visit(&mut collect);
    let mut values = HashMap::with_capacity(collect.params.len());
    for (path, id, flat, shape) in collect.params {
        let data = flat.into_data_async().await.map_err(|e| format!("device read-back failed: {e:?}"))?;
        values.insert(path, (id, data.convert::<f32>(), shape));
    }
    let cpu = crate::backend::cpu_device();
    let copy = cfg.build_net(&cpu)?;
    let mut put = Put { path: vec![], values, device: cpu, missing: vec![] };
    let copy = copy.map(&mut put);
    if let Some(p) = put.missing.first() {
        return Err(format!("saving the model: parameter {p} has no counterpart in a fresh {}", cfg.model));
    }
    Ok(save_model_with_info(&copy, cfg, info))
}

/// Rebuilds the net a file describes on `device` (not autodiff).
pub fn load_model(bytes: &[u8], device: &Device) -> Result<(Net, ExperimentConfig), String> {
    load_model_with_info(bytes, device).map(|(net, cfg, _)| (net, cfg))
}

/// [`load_model`], with what the file says about classes and inputs.
pub fn load_model_with_info(bytes: &[u8], device: &Device) -> Result<(Net, ExperimentConfig, ModelInfo), String> {
    let rest = bytes.strip_prefix(&MAGIC[..]).ok_or("not a ResLab model file (it does not start with RESLABMODEL1)")?;
    let (len, rest) = rest.split_first_chunk::<4>().ok_or("the model file is truncated (it ends inside its header)")?;
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len {
        return Err(format!("the model file is truncated (its config needs {len} bytes, {} are left)", rest.len()));
    }
    let (config, record) = rest.split_at(len);
    let config = std::str::from_utf8(config).map_err(|_| "the model file's config is not UTF-8 text")?;
    // The header, or (older files) the bare config.
    let is_header = serde_json::from_str::<serde_json::Value>(config).is_ok_and(|v| v.get("config").is_some_and(|c| c.is_object()));
    let (cfg, info) = if is_header {
        let h: Header = serde_json::from_str(config).map_err(|e| format!("the model file's header: {e}"))?;
        (h.config, Some(h.info))
    } else {
        (ExperimentConfig::from_json(config).map_err(|e| format!("the model file's config: {e}"))?, None)
    };
    let problems = cfg.validate();
    if !problems.is_empty() {
        let msgs: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        return Err(format!("the model file's config is not valid: {}", msgs.join("; ")));
    }
    let info = info.unwrap_or_else(|| ModelInfo::for_config(&cfg));
    info.check(&cfg).map_err(|e| format!("the model file's header does not fit its net: {e}"))?;
    if record.is_empty() {
        return Err("the model file is truncated (no parameters after the config)".into());
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(record.to_vec()))
        .map_err(|e| format!("the model file's parameters cannot be read (truncated or corrupted?): {e}"))?
        // Whatever float type the file claims, the net computes in its own.
        .cast_to_module_dtype();
    let net = cfg.build_net(device)?;
    let net = net
        .try_load_record(record)
        .map_err(|e| format!("the model file's parameters do not fit a {} ({}): {e}", cfg.model, cfg.dataset.id()))?;
    Ok((net, cfg, info))
}

/// Every float parameter (BN running statistics included) as a flat tensor,
/// with its module path and shape.
#[derive(Default)]
struct Collect {
    path: Vec<String>,
    params: Vec<(String, ParamId, Tensor<1>, Vec<usize>)>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let shape = t.dims().to_vec();
        let n = shape.iter().product::<usize>();
        self.params.push((self.path.join("."), param.id, t.reshape([n]), shape));
    }
}

/// Replaces each float parameter by the value collected under its path.
struct Put {
    path: Vec<String>,
    values: HashMap<String, (ParamId, TensorData, Vec<usize>)>,
    device: Device,
    missing: Vec<String>,
}

impl ModuleMapper for Put {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        match self.values.remove(&path) {
            Some((id, data, shape)) if shape.len() == D => {
                let value: Tensor<1> = Tensor::from_data(data, &self.device);
                let dims: [usize; D] = std::array::from_fn(|i| shape[i]);
                // The original's id, not the fresh copy's: an optimizer state
                // saved with the net is keyed by these ids (see train::checkpoint).
                let mut param = param.map(|_| value.reshape(dims));
                param.id = id;
                param
            }
            _ => {
                self.missing.push(path);
                param
            }
        }
    }
}
