//! Integration tests: one binary, as ripgrep does. Differential tests compare wirelite with the
//! tshark 4.0.17 references in tests/data/corpus (see its README); tshark is not needed to run them.

mod support;

mod broken;
mod conv;
mod differential;
mod escapes;
mod filters;
mod follow;
mod fuzzing;
mod http;
mod io;
mod limits;
mod mutations;
mod outputs;
mod pairs;
mod reassembly;
mod samples;
mod stateless;
mod stats;
mod tcp;
mod threads;
