//! ResLab's kernels live, for now, in patched copies of two Burn crates
//! (`vendor/`, see `vendor/README.md`). If a Burn upgrade made the
//! `[patch.crates-io]` entries stop matching, Cargo would build the crates.io
//! versions with only a warning and every speed-up would vanish without an
//! error. This test fails instead: the lock file must resolve both crates to
//! the vendored paths, once, with no unused patch.
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

fn lock_entries(lock: &str, name: &str) -> Vec<String> {
    lock.split("[[package]]")
        .filter(|block| block.lines().any(|l| l.trim() == format!("name = \"{name}\"")))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_vendored_burn_crates_are_the_ones_built() {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    assert!(!lock.contains("[[patch.unused]]"), "Cargo.lock lists an unused patch: a vendored crate no longer matches Burn's version");
    for name in ["burn-flex", "burn-cubecl"] {
        let entries = lock_entries(&lock, name);
        assert_eq!(entries.len(), 1, "{name}: {} entries in Cargo.lock (the vendored copy and a crates.io one?)", entries.len());
        assert!(
            !entries[0].contains("source = "),
            "{name} comes from a registry, not from vendor/{name}: the [patch.crates-io] entry no longer applies\n{}",
            entries[0]
        );
    }
    // And the vendored copies are the version the rest of Burn is.
    let burn = lock_entries(&lock, "burn");
    let version = |block: &str| block.lines().find_map(|l| l.trim().strip_prefix("version = ")).map(str::to_string);
    let want = version(&burn[0]);
    for name in ["burn-flex", "burn-cubecl"] {
        assert_eq!(version(&lock_entries(&lock, name)[0]), want, "{name}'s version differs from burn's");
    }
}
