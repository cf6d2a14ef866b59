//! The few things that differ between the browser and native: a clock and
//! a way to give the event loop a turn (so a worker can receive "pause").

#[cfg(not(target_family = "wasm"))]
pub fn now_seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

#[cfg(target_family = "wasm")]
pub fn now_seconds() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// Run the module's static constructors, once (wasm; natively the loader
/// does). CubeCL registers its WGSL operations through `inventory`, whose
/// registrations are such constructors. When no code calls
/// `__wasm_call_ctors`, wasm-ld links the module "command-style" and runs
/// every constructor again at the top of EVERY exported function: each call
/// from JS into wasm, including the externref helpers wasm-bindgen's glue
/// calls for every WebGPU object handed to Rust. On WebGPU that was about
/// 45 % of the training worker's time. Because this function calls it, the
/// linker drops those wrappers, so it must run before anything that needs
/// the registrations: from the start function (`web::start`) and, for
/// modules that have no start function run (wasm-bindgen-test's), from
/// `backend::wgpu_device`.
#[cfg(target_family = "wasm")]
pub fn run_static_constructors() {
    unsafe extern "C" {
        fn __wasm_call_ctors();
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the linker-made constructor runner, called once per instance.
    ONCE.call_once(|| unsafe { __wasm_call_ctors() });
}

/// Sleep (natively) or wait for a timer (in a worker, letting messages in).
#[cfg(not(target_family = "wasm"))]
pub async fn sleep_ms(ms: u32) {
    if ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ms as u64));
    }
}

#[cfg(target_family = "wasm")]
pub async fn sleep_ms(ms: u32) {
    use wasm_bindgen::JsCast;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(f) => {
                let _ = f.call2(&global, &resolve, &(ms as f64).into());
            }
            None => {
                let _ = resolve.call0(&wasm_bindgen::JsValue::UNDEFINED);
            }
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Runs `f` on one of the CPU backend's pool threads and waits for it.
///
/// In the browser's threaded engine a training step's parallel loops
/// (Flex's convolutions, batch norm, GEMMs) otherwise start from the training
/// worker, which is not one of rayon's threads: each of a step's ~150 loops
/// is then handed over to the pool and waited for through `Atomics.wait`, and
/// a pool of one thread measured 22 % slower than the single-threaded engine.
/// Started from inside the pool, the loops split work among the pool's
/// threads directly. Everywhere else `f` just runs here.
#[cfg(all(target_family = "wasm", feature = "threads"))]
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    // `scope` called from outside the pool runs its body on a pool thread.
    rayon::scope(|_| f())
}

#[cfg(not(all(target_family = "wasm", feature = "threads")))]
#[inline(always)]
pub fn on_pool<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// The engine's heap in use: bytes the Rust allocator has handed out and not
/// yet had back. Wasm linear memory only grows (it is the allocator's
/// high-water mark, and when that mark is reached depends on fragmentation),
/// so a leak test needs this count, not the memory's size. Natively: None.
pub fn heap_in_use() -> Option<u64> {
    #[cfg(target_family = "wasm")]
    return Some(heap::IN_USE.load(std::sync::atomic::Ordering::Relaxed) as u64);
    #[cfg(not(target_family = "wasm"))]
    None
}

/// The system allocator, counting what is in use (one relaxed atomic add per
/// allocation and per free; the threaded engine's workers share the count).
/// Not inlined: inlined, the allocator's code was copied into its callers
/// and the engine grew by 650 KB before wasm-opt (20 KB as it is).
#[cfg(target_family = "wasm")]
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    pub static IN_USE: AtomicUsize = AtomicUsize::new(0);

    struct Counting;

    unsafe impl GlobalAlloc for Counting {
        #[inline(never)]
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                IN_USE.fetch_add(layout.size(), Relaxed);
            }
            p
        }
        #[inline(never)]
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                IN_USE.fetch_add(layout.size(), Relaxed);
            }
            p
        }
        #[inline(never)]
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            IN_USE.fetch_sub(layout.size(), Relaxed);
        }
        #[inline(never)]
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                IN_USE.fetch_add(new_size, Relaxed);
                IN_USE.fetch_sub(layout.size(), Relaxed);
            }
            p
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;
}
