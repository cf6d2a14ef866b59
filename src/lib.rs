//! ResLab: the ResNet paper's ablations (He et al. 2015) as a lab — plain vs
//! residual nets, depth, optimizers, BatchNorm settings, learning rates —
//! trained in the browser (WebGPU, or the CPU backend in wasm) and natively.
//!
//! - [`data`]: MNIST/Fashion-MNIST IDX and CIFAR-10 binary parsing from bytes,
//!   preprocessing, augmentation, batching; the built-in sample.
//! - [`model`]: the model zoo and its description API (built from a `ModelSpec`).
//! - [`model_file`]: a trained net and its config as one `.reslab` file.
//! - [`config`]: one experiment as one JSON type; validation.
//! - [`schema`]: the config's fields, types, ranges and choices, for the page and the CLI.
//! - [`optim`]: optimizers and learning-rate schedules.
//! - [`train`]: the async training loop, its events and its result JSON.
//! - [`lab`]: grids of experiments and the paper's ablations as presets.
//! - [`report`]: result JSONs merged into the page's results table (Markdown, CSV).
//! - [`selfcheck`]: a GPU device's outputs and gradients checked against the CPU backend's.
//! - [`bench`]: training-step timing with the TF.js/PyTorch reference harnesses' protocol.
//! - `web` (wasm only): the bindings the page's worker calls; `threads`
//!   (wasm, `threads` feature): the Web Worker pool of the threaded CPU engine.

pub mod backend;
pub mod bench;
pub mod config;
pub mod data;
pub mod lab;
pub mod model;
pub mod model_file;
pub mod optim;
pub mod platform;
pub mod report;
pub mod rng;
pub mod schema;
pub mod selfcheck;
pub mod train;

#[cfg(target_family = "wasm")]
mod web;

#[cfg(all(target_family = "wasm", feature = "threads"))]
mod threads;

pub use config::ExperimentConfig;
