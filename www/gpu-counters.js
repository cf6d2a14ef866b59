// Counting what training asks of the GPU: a measuring mode for a worker.
//
// Time per step says how fast a machine is; it does not say why. On WebGPU a
// step's cost depends on how many compute passes, dispatches, submits and
// blocking read-backs it takes, how many pipelines and buffers it creates
// (pipeline compilation and allocation are slow on real drivers), and how
// many bytes it moves between host and device. Those counts are the same on
// every machine running the same kernels, so they can be measured on any
// adapter, SwiftShader included (with `kernels=default`, the kernels a
// hardware GPU runs), and compared with the times a user's report gives.
//
// How: the engine (wgpu through wasm-bindgen/web-sys) calls WebGPU's methods
// by name on the objects (`device.createBuffer(desc)`), looked up on their
// prototypes at call time. So wrapping the prototype methods of this global
// counts every call the engine makes, provided the wrappers are installed
// before the engine's first GPU call (they wrap once per global; installing
// again returns the same counters). The wrappers only add to counters and
// call the original with the same `this` and arguments; results, errors and
// promises pass through untouched.
//
// Meant for the "Check this machine" page's worker (www/bench-worker.js); the
// app's own worker does not install it.

/** The counters a snapshot holds, all numbers, in this order. */
export const COUNTERS = Object.freeze([
  'compute_passes', // GPUCommandEncoder.beginComputePass
  'dispatches', // GPUComputePassEncoder.dispatchWorkgroups and dispatchWorkgroupsIndirect
  'pipelines_created', // GPUDevice.createComputePipeline and createComputePipelineAsync
  'buffers_created', // GPUDevice.createBuffer
  'buffer_bytes_created', // … the descriptors' sizes
  'buffers_mapped_at_creation', // … of which created mapped, to be filled by the host (an upload besides writeBuffer)
  'bytes_mapped_at_creation',
  'writes', // GPUQueue.writeBuffer (host → device)
  'bytes_written',
  'readbacks', // GPUBuffer.mapAsync with GPUMapMode.READ (the host waits for the device)
  'bytes_read',
  'submits', // GPUQueue.submit
  'command_buffers', // … the command buffers those submits carried
  'copies', // GPUCommandEncoder.copyBufferToBuffer (device → device)
  'bytes_copied',
]);

/** Dispatches by kernel: the pipeline's label (CubeCL labels a pipeline with its kernel's entry point). */
const BY_KERNEL = Symbol.for('reslab.gpuCounters.byKernel');
/** Pipelines created, by the same label. */
const CREATED = Symbol.for('reslab.gpuCounters.created');

/** Marks a wrapper, so a prototype is never wrapped twice. */
const WRAPPED = Symbol.for('reslab.gpuCounters.wrapped');
/** The counters of a global whose prototypes were wrapped (one set per global). */
const COUNTS = Symbol.for('reslab.gpuCounters.counts');

/** GPUMapMode.READ in the spec (used when the global has no GPUMapMode). */
const MAP_READ = 0x0001;

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'bigint' ? Number(v) : null);

/** Bytes of `data` that writeBuffer(buffer, offset, data, dataOffset, size) sends: offset and size count elements of a typed array, bytes otherwise. */
function writtenBytes(data, dataOffset, size) {
  const unit = data?.BYTES_PER_ELEMENT ?? 1;
  const length = ArrayBuffer.isView(data) && unit > 1 ? data.length : data?.byteLength ?? 0;
  const given = num(size);
  return (given ?? Math.max(0, length - (num(dataOffset) ?? 0))) * unit;
}

/** Bytes copyBufferToBuffer copies, for both of its forms: (src, srcOffset, dst, dstOffset, size?) and (src, dst, size?). */
function copiedBytes(args) {
  const [source] = args;
  const sourceSize = num(source?.size) ?? 0;
  if (typeof args[1] === 'object' && args[1] !== null) return num(args[2]) ?? sourceSize;
  return num(args[4]) ?? Math.max(0, sourceSize - (num(args[1]) ?? 0));
}

/**
 * Wraps `proto[name]` (if the global has it) so that each call first runs
 * `count(thisArg, args)`. A counting error never reaches the engine.
 */
function wrap(proto, name, count) {
  const original = proto?.[name];
  if (typeof original !== 'function' || original[WRAPPED]) return;
  const wrapper = function (...args) {
    try {
      count(this, args);
    } catch {
      // Counting is best effort; the call itself must go on as if unwrapped.
    }
    return original.apply(this, args);
  };
  wrapper[WRAPPED] = true;
  Object.defineProperty(proto, name, { value: wrapper, writable: true, configurable: true, enumerable: false });
}

/**
 * Installs the counters in `scope` (a worker's or the page's global), once.
 * Returns {available, snapshot()}: `snapshot()` gives a plain object of the
 * counts so far (COUNTERS' keys); `available` is false where the global has
 * no WebGPU (the counts then stay 0).
 */
export function installGpuCounters(scope = self) {
  const available = typeof scope.GPUDevice === 'function';
  if (!scope[COUNTS]) {
    const c = Object.fromEntries(COUNTERS.map((k) => [k, 0]));
    Object.defineProperty(scope, COUNTS, { value: c, enumerable: false });
    const byKernel = new Map();
    Object.defineProperty(scope, BY_KERNEL, { value: byKernel, enumerable: false });
    const created = new Map();
    Object.defineProperty(scope, CREATED, { value: created, enumerable: false });
    const createdPipeline = (_, [desc]) => {
      c.pipelines_created++;
      const label = desc?.label || '(unlabelled)';
      created.set(label, (created.get(label) ?? 0) + 1);
    };
    // The label of the pipeline each pass has set.
    const passPipeline = new WeakMap();
    const dispatched = (pass) => {
      const label = passPipeline.get(pass) ?? '(unlabelled)';
      byKernel.set(label, (byKernel.get(label) ?? 0) + 1);
    };
    if (available) {
      const readMode = num(scope.GPUMapMode?.READ) ?? MAP_READ;
      wrap(scope.GPUCommandEncoder?.prototype, 'beginComputePass', () => { c.compute_passes++; });
      wrap(scope.GPUCommandEncoder?.prototype, 'copyBufferToBuffer', (_, args) => {
        c.copies++;
        c.bytes_copied += copiedBytes(args);
      });
      wrap(scope.GPUComputePassEncoder?.prototype, 'setPipeline', (pass, [pipeline]) => {
        passPipeline.set(pass, pipeline?.label || '(unlabelled)');
      });
      wrap(scope.GPUComputePassEncoder?.prototype, 'dispatchWorkgroups', (pass) => {
        c.dispatches++;
        dispatched(pass);
      });
      wrap(scope.GPUComputePassEncoder?.prototype, 'dispatchWorkgroupsIndirect', (pass) => {
        c.dispatches++;
        dispatched(pass);
      });
      wrap(scope.GPUDevice.prototype, 'createComputePipeline', createdPipeline);
      wrap(scope.GPUDevice.prototype, 'createComputePipelineAsync', createdPipeline);
      wrap(scope.GPUDevice.prototype, 'createBuffer', (_, [desc]) => {
        c.buffers_created++;
        c.buffer_bytes_created += num(desc?.size) ?? 0;
        if (desc?.mappedAtCreation) {
          c.buffers_mapped_at_creation++;
          c.bytes_mapped_at_creation += num(desc.size) ?? 0;
        }
      });
      wrap(scope.GPUQueue?.prototype, 'writeBuffer', (_, [, , data, dataOffset, size]) => {
        c.writes++;
        c.bytes_written += writtenBytes(data, dataOffset, size);
      });
      wrap(scope.GPUQueue?.prototype, 'submit', (_, [buffers]) => {
        c.submits++;
        c.command_buffers += num(buffers?.length) ?? 0;
      });
      wrap(scope.GPUBuffer?.prototype, 'mapAsync', (buffer, [mode, offset, size]) => {
        if (((num(mode) ?? 0) & readMode) === 0) return; // a map for writing is not a read-back
        c.readbacks++;
        c.bytes_read += num(size) ?? Math.max(0, (num(buffer?.size) ?? 0) - (num(offset) ?? 0));
      });
    }
  }
  const counts = scope[COUNTS];
  const byKernel = scope[BY_KERNEL];
  const created = scope[CREATED];
  return {
    available,
    snapshot: () => ({ ...counts }),
    /** Dispatches so far by kernel (pipeline label → count). */
    kernels: () => Object.fromEntries(byKernel),
    /** Pipelines created so far by kernel (label → count). */
    created: () => Object.fromEntries(created),
  };
}

/** Dispatches by kernel between two `kernels()` results, largest first (kernels with none left out). */
export function kernelsDiff(a, b) {
  return Object.fromEntries(Object.entries(b ?? {})
    .map(([k, v]) => [k, v - (a?.[k] ?? 0)])
    .filter(([, v]) => v > 0)
    .sort((x, y) => y[1] - x[1]));
}

/** What happened between snapshots `a` and `b` (b − a, per counter). */
export function diff(a, b) {
  return Object.fromEntries(COUNTERS.map((k) => [k, (b?.[k] ?? 0) - (a?.[k] ?? 0)]));
}

/** The median of each counter over `list` (snapshots or diffs); null for an empty list. */
export function medianCounts(list) {
  if (!list.length) return null;
  return Object.fromEntries(COUNTERS.map((k) => {
    const v = list.map((d) => d[k] ?? 0).sort((x, y) => x - y);
    const n = v.length;
    return [k, n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2];
  }));
}

/** The sum of each counter over `list`. */
export function sumCounts(list) {
  return Object.fromEntries(COUNTERS.map((k) => [k, list.reduce((s, d) => s + (d[k] ?? 0), 0)]));
}
