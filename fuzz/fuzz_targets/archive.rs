#![no_main]
// See fuzz/src/harness.rs for what this target feeds to the parsers and checks.
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    reslab_fuzz::harness::archive(bytes);
});
