//! The parsers under test, included by path from the main crate (which this
//! crate must not depend on: that would compile Burn with sanitizers), and
//! the fuzz targets' entry points.

#[path = "../../src/rng.rs"]
pub mod rng;

#[path = "../../src/data/mod.rs"]
pub mod data;

/// Shared with the main crate's tests/fuzz_corpus.rs, which replays the
/// corpus through the same functions.
pub mod harness;
