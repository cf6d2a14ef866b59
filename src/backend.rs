//! Devices. The CPU backend is Burn's Flex (pure Rust, SIMD, runs in wasm);
//! the GPU backend is wgpu (WebGPU in the browser, Vulkan/Metal natively).

use burn::tensor::Device;

/// Which backend a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Cpu,
    Wgpu,
}

impl BackendKind {
    pub fn id(&self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

/// The CPU device (no autodiff).
pub fn cpu_device() -> Device {
    Device::flex()
}

/// Initialise the wgpu runtime (asynchronously, as the browser requires) and
/// return its device. Errors say why (no adapter, no device …).
#[cfg(feature = "wgpu")]
pub async fn wgpu_device() -> Result<Device, String> {
    // CubeCL's registrations must exist before its first kernel.
    #[cfg(target_family = "wasm")]
    crate::platform::run_static_constructors();
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("WebGPU/wgpu initialisation failed: {e}"))?;
    #[cfg(target_family = "wasm")]
    set_software_kernels(software_adapter().await.is_some());
    Ok(device)
}

/// Run matmuls, 2-D convolutions, batch normalisation in training and ReLU
/// on the GPU backend with the kernels written for a software adapter,
/// whose "GPU" work runs on the CPU's cores (`wgpu_device` decides in the
/// browser), or with Burn's default GPU kernels. On SwiftShader the software
/// kernels ran the CNN's dense layer 3-5x faster, ResNet-20's 3x3
/// convolutions (forward and both gradients) about 3x, batch norm about
/// 2.5x and ReLU 1.5x; with the last two a whole ResNet-20 step went from
/// 5.9 s to 2.9 s (BENCHMARKS.md). Hardware GPUs keep Burn's defaults,
/// which were not measured against them here.
#[cfg(feature = "wgpu")]
pub fn set_software_kernels(on: bool) {
    burn_cubecl::kernel::set_software_kernels(on);
}

/// Whether the GPU backend runs the kernels written for a software adapter.
#[cfg(feature = "wgpu")]
pub fn software_kernels() -> bool {
    burn_cubecl::kernel::software_kernels()
}

/// The browser's WebGPU adapter, named if it is a software one (its GPU work
/// runs on the CPU): what the adapter says of itself, as `www/worker.js`
/// reads it before choosing a backend.
#[cfg(all(feature = "wgpu", target_family = "wasm"))]
pub async fn software_adapter() -> Option<String> {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    let get = |o: &JsValue, k: &str| Reflect::get(o, &k.into()).ok().filter(|v| !v.is_undefined() && !v.is_null());
    let gpu = get(&get(&js_sys::global(), "navigator")?, "gpu")?;
    let request: Function = get(&gpu, "requestAdapter")?.dyn_into().ok()?;
    let promise: Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
    let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok().filter(|a| !a.is_null())?;
    let info = get(&adapter, "info").unwrap_or(JsValue::UNDEFINED);
    let text = ["vendor", "architecture", "device", "description"]
        .iter()
        .filter_map(|k| get(&info, k)?.as_string())
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    const SOFTWARE: [&str; 6] = ["swiftshader", "llvmpipe", "lavapipe", "softpipe", "software", "microsoft basic render"];
    if let Some(name) = SOFTWARE.iter().find(|s| text.contains(*s)) {
        return Some(name.to_string());
    }
    let fallback = [&adapter, &info].iter().any(|o| get(o, "isFallbackAdapter").and_then(|v| v.as_bool()) == Some(true));
    fallback.then(|| "a fallback adapter".to_string())
}
