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

/// A 1-D float tensor's values on the host: one device read-back.
pub async fn read_f32(t: burn::tensor::Tensor<1>) -> Result<Vec<f32>, String> {
    let data = t.into_data_async().await.map_err(|e| format!("device read-back failed: {e:?}"))?;
    data.convert::<f32>().try_into_vec::<f32>().map_err(|e| format!("{e:?}"))
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
    Ok(device)
}

/// Run the dense layers' matmuls, 2-D convolutions, batch normalisation in
/// training and ReLU on the GPU `device` with ResLab's kernels for a
/// software adapter, whose "GPU" work runs on the CPU's cores (the page's
/// worker decides from the adapter, `init_backend`), or with Burn's own
/// (off, the default). A setting of the device (`reslab-kernels`), so two
/// devices can differ. On a software adapter they are several times faster
/// (BENCHMARKS.md, the "on a software adapter" sections). Hardware GPUs keep
/// Burn's ops, which were not measured against them here.
#[cfg(feature = "wgpu")]
pub fn set_software_kernels(device: &Device, on: bool) {
    reslab_kernels::set_software_adapter(device, on);
}

/// Whether the GPU `device` runs the kernels written for a software adapter.
#[cfg(feature = "wgpu")]
pub fn software_kernels(device: &Device) -> bool {
    reslab_kernels::software_adapter(device)
}

/// The browser's WebGPU adapter, named if it is a software one (its GPU work
/// runs on the CPU): what the adapter says of itself. The page's worker
/// decides this itself, once (`www/gpu-adapter.js`), and passes its verdict
/// to `init_backend`; this is for the other callers (the wasm tests, the
/// benchmark page).
#[cfg(all(feature = "wgpu", target_family = "wasm"))]
pub async fn software_adapter() -> Option<String> {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    let get = |o: &JsValue, k: &str| Reflect::get(o, &k.into()).ok().filter(|v| !v.is_undefined() && !v.is_null());
    let gpu = get(&get(&js_sys::global(), "navigator")?, "gpu")?;
    let request: Function = get(&gpu, "requestAdapter")?.dyn_into().ok()?;
    // The preference wgpu's own adapter request uses (and the page's worker,
    // www/gpu-adapter.js), so all three look at the same adapter on a
    // machine with two GPUs.
    let options = js_sys::Object::new();
    Reflect::set(&options, &"powerPreference".into(), &"high-performance".into()).ok()?;
    let promise: Promise = request.call1(&gpu, &options).ok()?.dyn_into().ok()?;
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
