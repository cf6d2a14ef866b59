//! The browser's threaded CPU engine: rayon's pool made of Web Workers.
//!
//! Flex splits a batch's images (and its large GEMMs) over rayon's global
//! pool. Natively that pool is OS threads. In the browser it is Web Workers
//! that share this module's memory (the module is built with atomics, so its
//! memory is a `SharedArrayBuffer`, which needs a cross-origin isolated page).
//!
//! The start-up handshake, driven by `www/threads.js` in the training worker:
//! 1. `pool_prepare()` opens the channel below;
//! 2. the training worker spawns `n` workers from `www/pool-worker.js`; each
//!    instantiates this module on the shared memory and calls
//!    `pool_worker_run()`, which blocks on the channel;
//! 3. `pool_build(n)` builds rayon's global pool with a spawn handler that,
//!    instead of starting an OS thread, sends each thread's main loop down
//!    the channel, where one of the waiting workers picks it up and runs it
//!    for the rest of the page's life.
//!
//! This is what `wasm-bindgen-rayon` does, written out here because its
//! bundler-free helper spawns the workers from `blob:` URLs, which the app's
//! Content-Security-Policy (`worker-src 'self'`) rightly refuses.
//!
//! Blocking is fine: rayon's callers block on atomics (`memory.atomic.wait`),
//! which browsers forbid only on a page's main thread, and the engine never
//! runs there.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};

use rayon::ThreadBuilder;
use wasm_bindgen::prelude::*;

/// Thread main loops on their way from rayon's spawn handler to the workers.
static SENDER: Mutex<Option<Sender<ThreadBuilder>>> = Mutex::new(None);
static RECEIVER: Mutex<Option<Receiver<ThreadBuilder>>> = Mutex::new(None);

/// Step 1: open the channel the pool's threads will come through.
#[wasm_bindgen]
pub fn pool_prepare() {
    let (tx, rx) = channel();
    *SENDER.lock().unwrap_throw() = Some(tx);
    *RECEIVER.lock().unwrap_throw() = Some(rx);
}

/// The module and its shared memory, for the pool's workers to instantiate.
#[wasm_bindgen]
pub fn pool_module() -> JsValue {
    wasm_bindgen::module()
}

#[wasm_bindgen]
pub fn pool_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// Step 2, in each pool worker: wait for one of rayon's threads and run it.
/// Never returns while the pool lives.
#[wasm_bindgen]
pub fn pool_worker_run() -> Result<(), JsValue> {
    // The lock is held only while waiting: the workers take their threads
    // one after another.
    let thread = {
        let rx = RECEIVER.lock().unwrap_throw();
        let rx = rx.as_ref().ok_or_else(|| JsValue::from_str("pool_worker_run: pool_prepare was not called"))?;
        rx.recv().map_err(|_| JsValue::from_str("pool_worker_run: the pool was never built"))?
    };
    thread.run();
    Ok(())
}

/// Step 3: build rayon's global pool of `threads` threads, one per waiting
/// worker. Returns the pool's size.
#[wasm_bindgen]
pub fn pool_build(threads: usize) -> Result<usize, JsValue> {
    let tx = SENDER.lock().unwrap_throw().take().ok_or_else(|| JsValue::from_str("pool_build: pool_prepare was not called"))?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("reslab-pool-{i}"))
        .spawn_handler(move |thread| tx.send(thread).map_err(|_| std::io::Error::other("the pool's channel is closed")))
        .build_global()
        .map_err(|e| JsValue::from_str(&format!("the thread pool could not be built: {e}")))?;
    Ok(rayon::current_num_threads())
}

/// How many threads Flex's work is spread over (1 until the pool is built,
/// when rayon falls back to the calling thread).
pub fn threads() -> usize {
    rayon::current_num_threads()
}
