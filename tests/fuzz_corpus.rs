//! Replays the fuzzing corpus (`fuzz/corpus/<target>/`) and the crash
//! reproducers (`fuzz/regressions/<target>/`) through the fuzz targets' own
//! entry points, natively and without libFuzzer: no input may panic, and
//! whatever a parser accepts must have consistent sizes. This is how CI keeps
//! the parsers where the fuzzing left them (`cargo test --release` runs it);
//! see docs/ROBUSTNESS.md, "Parser fuzzing".
//!
//! The entry points live in `fuzz/src/harness.rs`, included here by path as
//! in the fuzz crate, so both run exactly the same code (including the
//! decoding of `load_files`'s structured input).
#![cfg(not(target_family = "wasm"))] // native only: `wasm-pack test` builds every test target for wasm

use reslab::data; // the harness names the parsers `crate::data`
use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

#[path = "../fuzz/src/harness.rs"]
mod harness;

const FUZZ_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz");

/// The files in `dir`, sorted; none if it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("reading a corpus folder").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every file through `run`; returns (successful parses, files that panicked).
fn replay(run: harness::Target, files: &[PathBuf]) -> (usize, Vec<String>) {
    let mut ok = 0;
    let mut panicked = Vec::new();
    for path in files {
        let bytes = std::fs::read(path).expect("reading a corpus file");
        match catch_unwind(|| run(&bytes)) {
            Ok(n) => ok += n,
            Err(_) => panicked.push(path.display().to_string()),
        }
    }
    (ok, panicked)
}

#[test]
fn fuzz_corpus_replays_without_panics_and_with_consistent_sizes() {
    let mut panicked = Vec::new();
    for (target, run) in harness::TARGETS {
        let dir = Path::new(FUZZ_DIR).join("corpus").join(target);
        let files = files_in(&dir);
        // An absent or empty corpus would make this test pass without testing anything.
        assert!(
            !files.is_empty(),
            "{} is missing or empty (fuzz/make-seeds.py writes the seeds, scripts/fuzz.sh grows them)",
            dir.display()
        );
        let (ok, bad) = replay(run, &files);
        println!(
            "{target}: {} inputs, {ok} successful parses, {} panics",
            files.len(),
            bad.len()
        );
        // The consistency checks only run on success: the corpus must reach it.
        assert!(
            ok > 0,
            "no input in {} parses, so the checks on parsed data never ran",
            dir.display()
        );
        panicked.extend(bad);
    }
    assert!(panicked.is_empty(), "inputs that panicked: {panicked:#?}");
}

#[test]
fn fuzz_regressions_replay_without_panics() {
    let mut panicked = Vec::new();
    let mut count = 0;
    for (target, run) in harness::TARGETS {
        // Optional: a target with no findings has no folder.
        let files = files_in(&Path::new(FUZZ_DIR).join("regressions").join(target));
        count += files.len();
        panicked.extend(replay(run, &files).1);
    }
    println!("{count} crash reproducers");
    assert!(panicked.is_empty(), "inputs that panicked: {panicked:#?}");
}

#[test]
fn load_files_input_decodes_as_documented() {
    // Byte 0 = hint 2 (Fashion-MNIST) | (2 files - 1) << 2; then per file:
    // name index, u32 LE length, contents (cut short by the end of the input).
    let input = [
        2 | 1 << 2,
        8,
        3,
        0,
        0,
        0,
        b'a',
        b'b',
        b'c',
        10 + harness::NAMES.len() as u8,
        9,
        0,
        0,
        0,
        b'x',
    ];
    let (files, hint) = harness::decode_files(&input);
    assert_eq!(hint, Some(data::DatasetKind::FashionMnist));
    assert_eq!(
        files,
        vec![
            ("data_batch_1.bin".to_string(), b"abc".to_vec()),
            ("test_batch.bin".to_string(), b"x".to_vec()),
        ]
    );
    // Every input decodes, the empty one to one empty file.
    let (files, hint) = harness::decode_files(&[]);
    assert_eq!(hint, None);
    assert_eq!(files, vec![(harness::NAMES[0].to_string(), Vec::new())]);
}
