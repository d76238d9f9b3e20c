/** Grad mode: whether ops record the autograd graph (torch.no_grad / torch.enable_grad). */
let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

function withMode<T>(mode: boolean, fn: () => T): T {
  const prev = enabled;
  enabled = mode;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    enabled = prev;
    throw e;
  }
  // An async fn keeps the mode until its promise settles; avoid interleaving other graph-building work meanwhile.
  if (result instanceof Promise) return result.finally(() => (enabled = prev)) as T;
  enabled = prev;
  return result;
}

/** Runs fn without recording gradients. */
export function noGrad<T>(fn: () => T): T {
  return withMode(false, fn);
}
/** Runs fn with gradient recording on, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withMode(true, fn);
}
/** Sets grad mode globally (torch.set_grad_enabled); returns the previous mode. */
export function setGradEnabled(mode: boolean): boolean {
  const prev = enabled;
  enabled = mode;
  return prev;
}
