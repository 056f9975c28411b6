//! Hand-written application-protocol parsers: pure zero-copy views and bounded owned reprs.

pub mod dns;
pub mod http1;
