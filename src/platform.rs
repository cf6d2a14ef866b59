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
