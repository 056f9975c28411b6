//! The lab samples and their exercises: every answer in samples/answers.md is what wirelite
//! prints for the command under its question, so the key cannot drift from the captures.

use std::path::Path;

use crate::support;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `(command, expected output)` pairs of answers.md (fenced blocks: `$ command`, then output).
fn answers() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("samples/answers.md")).unwrap();
    let mut out = Vec::new();
    let mut cur: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        if line.trim() == "```" {
            if let Some((cmd, body)) = cur.take() {
                out.push((cmd, body.join("\n")));
            }
            continue;
        }
        if let Some(cmd) = line.strip_prefix("   $ ") {
            cur = Some((cmd.to_string(), Vec::new()));
        } else if let Some((_, body)) = cur.as_mut() {
            body.push(line.strip_prefix("   ").unwrap_or(line).to_string());
        }
    }
    out
}

/// The questions' commands in samples/README.md.
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("samples/README.md")).unwrap();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("`wirelite "))
        .map(|c| format!("wirelite {}", c.trim_end_matches('`')))
        .collect()
}

/// Run every answer whose command reads `capture`, and compare with the key.
fn check_answers_for(capture: &str) {
    let bin = support::bin();
    let mine: Vec<(String, String)> = answers()
        .into_iter()
        .filter(|(cmd, _)| cmd.contains(&format!("samples/{capture} ")))
        .collect();
    assert!(!mine.is_empty(), "no answers for {capture}");
    for (cmd, want) in &mine {
        let real = format!("{}{}", bin.display(), cmd.strip_prefix("wirelite").unwrap());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&real)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd}: {}", support::stderr(&out));
        assert_eq!(support::stdout(&out).trim_end_matches('\n'), want, "{cmd}");
        // An empty answer means the question's filter selects nothing: a broken exercise.
        assert!(!want.trim().is_empty(), "{cmd} answers nothing");
    }
}

/// One test per capture, so a failure names the lesson.
macro_rules! answers_test {
    ($($name:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_answers_for($file);
            }
        )*

        #[test]
        fn every_capture_has_an_answers_test() {
            let tested = [$($file),*];
            for entry in std::fs::read_dir(root().join("samples")).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                    assert!(tested.contains(&name.as_str()), "{name} has no answers test");
                }
            }
        }
    };
}

answers_test! {
    answers_lab_http => "lab-http.pcap",
    answers_lab_keepalive => "lab-keepalive.pcapng",
    answers_lab_echo_8080 => "lab-echo-8080.pcap",
    answers_lab_ssh_key => "lab-ssh-key.pcap",
    answers_lab_ssh_moved => "lab-ssh-moved.pcap",
    answers_lab_ping_any => "lab-ping-any.pcap",
    answers_lab_dns => "lab-dns.pcap",
    answers_lab_nat_db_side => "lab-nat-db-side.pcap",
    answers_lab_nat_inet_side => "lab-nat-inet-side.pcap",
    answers_lab_refused => "lab-refused.pcap",
    answers_lab_oneway => "lab-oneway.pcap",
    answers_lab_port_reuse => "lab-port-reuse.pcap",
    answers_lab_fragments => "lab-fragments.pcap",
    answers_lab_mixed => "lab-mixed.pcapng",
}

#[test]
fn readme_and_answer_key_ask_the_same_questions() {
    let asked = readme_commands();
    assert!(asked.len() >= 30, "only {} questions", asked.len());
    let answered: Vec<String> = answers().into_iter().map(|(c, _)| c).collect();
    assert_eq!(
        asked, answered,
        "regenerate with samples/lab/answers.py write"
    );
}

#[test]
fn every_capture_has_exercises_and_the_set_stays_small() {
    let asked = readme_commands();
    let mut total = 0;
    for entry in std::fs::read_dir(root().join("samples")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
            continue;
        }
        total += entry.metadata().unwrap().len();
        let n = asked
            .iter()
            .filter(|c| c.contains(&format!("samples/{name} ")))
            .count();
        assert!(n >= 1, "{name} has no exercise");
        // Each capture's section asks 3-5 questions; the two NAT captures share one section.
        if !name.starts_with("lab-nat-") {
            assert!((3..=5).contains(&n), "{name} has {n} questions");
        }
    }
    assert!(total < 3_000_000, "samples take {total} bytes");
}
