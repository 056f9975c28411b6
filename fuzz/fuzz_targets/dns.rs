//! The DNS message parser on arbitrary bytes (compression loops, pointers past the end, counts
//! that lie), and the text every name and record becomes in the outputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirelite::wire::dns;

fuzz_target!(|data: &[u8]| {
    if let Some(m) = dns::parse(data) {
        let mut text = String::new();
        for q in &m.questions {
            text.push_str(&wirelite::output::safe_text(&q.name));
        }
        for r in m.records() {
            text.push_str(&format!("{r:?}"));
        }
        // Names come out printable: no control character reaches the terminal.
        assert!(
            !wirelite::output::safe_text(&text)
                .chars()
                .any(char::is_control)
        );
    }
    // Every position of the message as the start of a name, as pointers may point anywhere.
    for pos in 0..data.len().min(64) {
        let _ = dns::read_name(data, pos);
    }
});
