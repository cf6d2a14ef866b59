// The measuring mode's counters (www/gpu-counters.js) under node, on stand-in
// WebGPU classes: each wrapped method counts its calls and bytes as the
// WebGPU spec reads its arguments, once however often it is installed, and
// still calls the original with the same `this` and arguments.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COUNTERS, diff, installGpuCounters, kernelsDiff, medianCounts, sumCounts } from '../../www/gpu-counters.js';

function standIn() {
  const calls = [];
  const log = (name) => function (...args) {
    calls.push([name, this, args]);
    return name === 'createBuffer' ? { size: args[0].size } : undefined;
  };
  class GPUDevice {}
  GPUDevice.prototype.createBuffer = log('createBuffer');
  GPUDevice.prototype.createComputePipeline = log('createComputePipeline');
  GPUDevice.prototype.createComputePipelineAsync = log('createComputePipelineAsync');
  class GPUQueue {}
  GPUQueue.prototype.writeBuffer = log('writeBuffer');
  GPUQueue.prototype.submit = log('submit');
  class GPUBuffer {
    constructor(size) { this.size = size; }
  }
  GPUBuffer.prototype.mapAsync = log('mapAsync');
  class GPUCommandEncoder {}
  GPUCommandEncoder.prototype.beginComputePass = log('beginComputePass');
  GPUCommandEncoder.prototype.copyBufferToBuffer = log('copyBufferToBuffer');
  class GPUComputePassEncoder {}
  GPUComputePassEncoder.prototype.dispatchWorkgroups = log('dispatchWorkgroups');
  GPUComputePassEncoder.prototype.dispatchWorkgroupsIndirect = log('dispatchWorkgroupsIndirect');
  GPUComputePassEncoder.prototype.setPipeline = log('setPipeline');
  const scope = { GPUDevice, GPUQueue, GPUBuffer, GPUCommandEncoder, GPUComputePassEncoder, GPUMapMode: { READ: 1, WRITE: 2 } };
  return { scope, calls };
}

test('counts calls and bytes as WebGPU reads the arguments', () => {
  const { scope, calls } = standIn();
  const counters = installGpuCounters(scope);
  assert.equal(counters.available, true);
  const before = counters.snapshot();
  assert.deepEqual(Object.keys(before), [...COUNTERS]);

  const device = new scope.GPUDevice();
  assert.deepEqual(device.createBuffer({ size: 100, mappedAtCreation: true }), { size: 100 }, 'the result passes through');
  device.createBuffer({ size: 28 });
  device.createComputePipeline({});
  device.createComputePipelineAsync({});
  const queue = new scope.GPUQueue();
  queue.writeBuffer(null, 0, new Float32Array(10)); // 40 bytes
  queue.writeBuffer(null, 0, new Float32Array(10), 2, 3); // offset and size in elements: 12 bytes
  queue.writeBuffer(null, 0, new Uint8Array(10), 4); // from element 4 to the end: 6 bytes
  queue.submit([{}, {}]);
  const buffer = new scope.GPUBuffer(64);
  buffer.mapAsync(1); // the whole buffer: 64 bytes
  buffer.mapAsync(2); // a map for writing is no read-back
  buffer.mapAsync(1, 0, 16);
  const encoder = new scope.GPUCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, buffer, 0, 8);
  encoder.copyBufferToBuffer(buffer, 16, buffer, 0); // to the end of the source: 48 bytes
  encoder.copyBufferToBuffer(buffer, buffer); // the newer form, the whole source: 64 bytes
  encoder.beginComputePass();
  const pass = new scope.GPUComputePassEncoder();
  pass.dispatchWorkgroups(4, 1, 1);
  pass.dispatchWorkgroupsIndirect(buffer, 0);

  assert.deepEqual(diff(before, counters.snapshot()), {
    compute_passes: 1,
    dispatches: 2,
    pipelines_created: 2,
    buffers_created: 2,
    buffer_bytes_created: 128,
    buffers_mapped_at_creation: 1,
    bytes_mapped_at_creation: 100,
    writes: 3,
    bytes_written: 58,
    readbacks: 2,
    bytes_read: 80,
    submits: 1,
    command_buffers: 2,
    copies: 3,
    bytes_copied: 120,
  });
  // The originals ran, with the same `this` and arguments.
  assert.equal(calls.length, 17);
  assert.deepEqual(calls.find(([n]) => n === 'dispatchWorkgroups').slice(1), [pass, [4, 1, 1]]);
});

test('dispatches are told apart by the kernel (pipeline label) each pass has set', () => {
  const { scope } = standIn();
  const counters = installGpuCounters(scope);
  const before = counters.kernels();
  const [a, b] = [new scope.GPUComputePassEncoder(), new scope.GPUComputePassEncoder()];
  a.setPipeline({ label: 'conv2d_direct' });
  a.dispatchWorkgroups(1);
  b.setPipeline({ label: 'elemwise_add' });
  b.dispatchWorkgroups(1);
  a.dispatchWorkgroups(1); // still conv2d_direct: the pipeline is the pass's own
  a.setPipeline({ label: 'elemwise_add' });
  a.dispatchWorkgroupsIndirect({}, 0);
  b.setPipeline({});
  b.dispatchWorkgroups(1);
  const after = counters.kernels();
  assert.deepEqual(kernelsDiff(before, after), { conv2d_direct: 2, elemwise_add: 2, '(unlabelled)': 1 });
  assert.deepEqual(Object.keys(kernelsDiff(before, after)).slice(0, 2).sort(), ['conv2d_direct', 'elemwise_add'], 'largest first');
  a.dispatchWorkgroups(1);
  assert.deepEqual(kernelsDiff(after, counters.kernels()), { elemwise_add: 1 }, 'only what happened since');
  assert.equal(counters.snapshot().dispatches, 6);
});

test('pipelines created are told apart by their label, the kernel they compile', () => {
  const { scope } = standIn();
  const counters = installGpuCounters(scope);
  const device = new scope.GPUDevice();
  const before = counters.created();
  device.createComputePipeline({ label: 'elemwise_fuse_1' });
  device.createComputePipelineAsync({ label: 'elemwise_fuse_1' });
  device.createComputePipeline({ label: 'reduce_sum' });
  device.createComputePipeline({});
  assert.deepEqual(kernelsDiff(before, counters.created()), { elemwise_fuse_1: 2, reduce_sum: 1, '(unlabelled)': 1 });
  assert.equal(counters.snapshot().pipelines_created, 4);
});

test('installed once per global: a second install shares the counters and wraps nothing again', () => {
  const { scope, calls } = standIn();
  const a = installGpuCounters(scope);
  const wrapped = scope.GPUDevice.prototype.createBuffer;
  const b = installGpuCounters(scope);
  assert.equal(scope.GPUDevice.prototype.createBuffer, wrapped);
  new scope.GPUDevice().createBuffer({ size: 4 });
  assert.equal(a.snapshot().buffers_created, 1);
  assert.equal(b.snapshot().buffers_created, 1);
  assert.equal(calls.length, 1, 'the original called once');
});

test('a global without WebGPU: nothing wrapped, counts stay 0', () => {
  const counters = installGpuCounters({});
  assert.equal(counters.available, false);
  assert.ok(Object.values(counters.snapshot()).every((v) => v === 0));
});

test('median and sum over steps', () => {
  const steps = [{ dispatches: 3 }, { dispatches: 1 }, { dispatches: 2 }, { dispatches: 10 }];
  assert.equal(medianCounts(steps).dispatches, 2.5);
  assert.equal(medianCounts(steps.slice(0, 3)).dispatches, 2);
  assert.equal(sumCounts(steps).dispatches, 16);
  assert.equal(medianCounts([]), null);
});
