//! wirelite: a fast, Wireshark-compatible packet-capture analyzer.
//!
//! The pipeline runs one way, each stage owning its data:
//! [`capture`] (streaming reader) → [`decode`] (stateless, parallel) → [`engine`]'s ordered stage
//! ([`tcp`] streams, pairing) → [`output`] sinks, with every field name served by [`field`].

#![forbid(unsafe_code)]

pub mod app;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod defrag;
pub mod engine;
pub mod field;
pub mod filter;
#[doc(hidden)]
pub mod fuzzing;
pub mod limits;
pub mod output;
pub mod recent;
pub mod tcp;
pub mod wire;
