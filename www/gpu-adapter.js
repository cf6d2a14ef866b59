// The WebGPU adapter: asked for once, in one place, with one preference.
//
// The worker decides from it whether WebGPU is worth using and which kernels
// the engine runs on it (its verdict goes to the engine's init_backend); the
// "Check this machine" page reports it. wgpu's own adapter request inside
// the engine uses the same preference (high-performance, cubecl-wgpu's
// default), so on a laptop with two GPUs all of them look at the same one.

export const ADAPTER_OPTIONS = Object.freeze({ powerPreference: 'high-performance' });

const SOFTWARE_RE = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render/i;

/** The limits a report shows (all numbers the adapter has, in the spec's names). */
function limitsOf(adapter) {
  const out = {};
  for (const key in adapter.limits ?? {}) {
    const v = adapter.limits[key];
    if (typeof v === 'number') out[key] = v;
  }
  return out;
}

/**
 * Inspects navigator.gpu without touching the engine. Resolves to
 * {ok:false, why} or {ok:true, name, software, info:{vendor, architecture,
 * device, description}, fallback, features:[…], limits:{…}}; `software` names
 * a software adapter (its "GPU" work runs on the CPU), else null.
 */
export async function probeWebGpu(scope = self) {
  const gpu = scope.navigator?.gpu;
  if (!gpu) return { ok: false, why: 'this browser has no WebGPU' };
  let adapter = null;
  try {
    adapter = await gpu.requestAdapter(ADAPTER_OPTIONS);
  } catch (err) {
    return { ok: false, why: `requesting a WebGPU adapter failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!adapter) return { ok: false, why: 'no WebGPU adapter' };
  let info = adapter.info;
  if (!info && typeof adapter.requestAdapterInfo === 'function') {
    try {
      info = await adapter.requestAdapterInfo();
    } catch {
      info = null;
    }
  }
  info = info ?? {};
  const field = (k) => (typeof info[k] === 'string' ? info[k].trim() : '');
  const parts = ['vendor', 'architecture', 'device', 'description'].map(field).filter(Boolean);
  const name = [...new Set(parts)].join(' ') || 'unknown adapter';
  const fallback = adapter.isFallbackAdapter === true || info.isFallbackAdapter === true;
  const softMatch = parts.join(' ').match(SOFTWARE_RE);
  let software = null;
  if (softMatch) {
    const m = softMatch[0].toLowerCase();
    software = m === 'swiftshader' ? 'SwiftShader' : m === 'llvmpipe' ? 'llvmpipe' : m === 'lavapipe' ? 'lavapipe' : softMatch[0];
  } else if (fallback) {
    software = 'a fallback adapter';
  }
  return {
    ok: true,
    name,
    software,
    info: { vendor: field('vendor'), architecture: field('architecture'), device: field('device'), description: field('description') },
    fallback,
    features: [...(adapter.features ?? [])].sort(),
    limits: limitsOf(adapter),
  };
}
