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

#[test]
fn answers_are_what_wirelite_prints() {
    let bin = env!("CARGO_BIN_EXE_wirelite");
    let all = answers();
    assert!(all.len() >= 30, "only {} answers", all.len());
    for (cmd, want) in &all {
        let real = format!("{bin}{}", cmd.strip_prefix("wirelite").unwrap());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&real)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd}: {}", support::stderr(&out));
        assert_eq!(support::stdout(&out).trim_end_matches('\n'), want, "{cmd}");
    }
}

#[test]
fn readme_and_answer_key_ask_the_same_questions() {
    let asked = readme_commands();
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
