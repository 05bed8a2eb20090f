/**
 * Test helpers: waiting for queued work, and a seeded random source so a failing
 * convergence run can be replayed from its printed seed.
 */

/** Lets queued microtasks and zero-delay timers run. */
export async function tick(times = 3): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Empties the page once a test is done, then waits out the timers an editor may have
 * set (CodeMirror answers a focus change 10 ms later and then measures the page):
 * they must run while the test window exists, not after it is torn down.
 */
export async function unmount(): Promise<void> {
  document.body.replaceChildren();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Waits until `check` holds, polling; fails after `ms`. */
export async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
