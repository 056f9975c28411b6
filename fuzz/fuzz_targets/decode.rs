//! See `wirelite::fuzzing::decode`: the target's body lives in the library, where the test suite
//! runs it over seeds and over tests/data/regressions/decode/.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wirelite::fuzzing::decode(data));
