/**
 * The worker thread's program (run with `eval: true`, so no loader or build step is involved). A worker parks in
 * Atomics.wait on the job sequence number; when it changes it reads the job from the control block (kernel id,
 * descriptor, participant count, total work, task size), claims tasks [t·grain, (t+1)·grain) one at a time from a
 * shared counter until none are left — so a thread the OS delays simply does fewer — then bumps the done counter. Compiled kernel modules arrive on a MessagePort and are picked up synchronously with
 * receiveMessageOnPort the first time a job names them (the host posts a module before the first job that uses it).
 */
import { HOST_MATH_SOURCE } from './host-math.js';

/** Int32 slots of the control block (at byte 0 of the shared memory). */
export const CTRL = {
  SEQ: 0,
  DONE: 1,
  KERNEL: 2,
  DESC: 3,
  PARTS: 4,
  TOTAL: 5,
  ERROR: 6,
  /** Set when a worker died outside a kernel (so the host stops waiting for it). */
  DEAD: 7,
  /** Work items per task, and the next task to hand out (participants claim tasks with Atomics.add). */
  GRAIN: 8,
  NEXT: 9,
  /** Per-participant scratch pointers start here. */
  SCRATCH: 16,
} as const;
export const MAX_THREADS = 64;

/** Busy-poll iterations before sleeping, so back-to-back jobs skip the futex round trip. */
const SPIN = 2000;

export const WORKER_SOURCE = `
'use strict';
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { memory, port, index, seq } = workerData;
const math = new Function(${JSON.stringify(HOST_MATH_SOURCE)})();
const ctrl = new Int32Array(memory.buffer, 0, 256);
const kernels = new Map();
function kernel(id) {
  let run = kernels.get(id);
  while (run === undefined) {
    const msg = receiveMessageOnPort(port);
    if (!msg) throw new Error('cpu backend worker: kernel ' + id + ' was never sent');
    const instance = new WebAssembly.Instance(msg.message.module, { env: { memory }, m: math });
    kernels.set(msg.message.id, instance.exports.run);
    run = kernels.get(id);
  }
  return run;
}
// The job counter as it was when the host created this worker: the first job may already be posted.
let seen = seq;
try {
for (;;) {
  let s = Atomics.load(ctrl, ${CTRL.SEQ});
  for (let i = 0; s === seen && i < ${SPIN}; i++) s = Atomics.load(ctrl, ${CTRL.SEQ});
  if (s === seen) {
    Atomics.wait(ctrl, ${CTRL.SEQ}, seen);
    continue;
  }
  seen = s;
  const parts = Atomics.load(ctrl, ${CTRL.PARTS});
  if (parts < 0) break;
  if (index >= parts) continue;
  try {
    const total = ctrl[${CTRL.TOTAL}];
    const grain = ctrl[${CTRL.GRAIN}];
    const run = kernel(ctrl[${CTRL.KERNEL}]);
    const desc = ctrl[${CTRL.DESC}];
    const scratch = ctrl[${CTRL.SCRATCH} + index];
    for (;;) {
      const lo = Atomics.add(ctrl, ${CTRL.NEXT}, 1) * grain;
      if (lo >= total) break;
      run(desc, lo, Math.min(total, lo + grain), scratch);
    }
  } catch (e) {
    Atomics.store(ctrl, ${CTRL.ERROR}, 1);
    console.error(e);
  }
  Atomics.add(ctrl, ${CTRL.DONE}, 1);
  Atomics.notify(ctrl, ${CTRL.DONE});
}
} catch (e) {
  Atomics.store(ctrl, ${CTRL.DEAD}, 1);
  Atomics.notify(ctrl, ${CTRL.DONE});
  console.error(e);
}
`;
