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
    Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| format!("WebGPU/wgpu initialisation failed: {e}"))
}
