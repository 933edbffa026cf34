//! What a user reads before running anything: `--help` of each command, the README,
//! and the shell completion scripts, checked against each other and against the
//! flags the binary really takes.

use std::process::{Command, Output};

fn saar(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_saar"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run saar")
}

fn stdout_of(args: &[&str]) -> String {
    let out = saar(args);
    assert!(out.status.success(), "saar {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn completions_cover_every_command_in_each_shell() {
    let help = stdout_of(&["--help"]);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        // Wrapped descriptions are indented further than command names.
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    assert!(commands.contains(&"models") && commands.contains(&"completions"));
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for command in &commands {
            assert!(script.contains(command), "{shell} lacks {command}");
        }
        assert!(script.contains("max-new-tokens"), "{shell}");
    }
    let out = saar(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown shell");
}

/// The option names under `heading` in `saar <command> --help`.
fn options_under(help: &str, heading: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim_end() != format!("{heading}:"))
        .skip(1)
        .take_while(|line| line.is_empty() || line.starts_with(' '))
        .filter_map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix("-v, ").unwrap_or(line);
            let line = line.strip_prefix("-m, ").unwrap_or(line);
            let line = line.strip_prefix("-o, ").unwrap_or(line);
            let line = line.strip_prefix("-q, ").unwrap_or(line);
            line.starts_with("--")
                .then(|| line.split_whitespace().next().unwrap().to_string())
        })
        .collect()
}

#[test]
fn every_command_that_runs_a_model_takes_threads_beside_device() {
    for command in [
        "summarize",
        "translate",
        "split",
        "batch",
        "compare",
        "serve",
        "generate",
        "bench",
    ] {
        let help = stdout_of(&[command, "--help"]);
        let runtime = options_under(&help, "Runtime");
        assert_eq!(
            runtime,
            ["--device", "--dtype", "--threads"],
            "{command}: {help}"
        );
        assert!(help.contains("SAAR_THREADS"), "{command}");
    }
}

#[test]
fn compare_groups_its_flags_and_says_one_model_is_enough() {
    let help = stdout_of(&["compare", "--help"]);
    assert_eq!(
        options_under(&help, "Runs"),
        ["--runs", "--force"],
        "{help}"
    );
    assert_eq!(options_under(&help, "Output"), ["--verbose"], "{help}");
    for heading in ["Generation", "Runtime", "Options"] {
        let under = options_under(&help, heading);
        assert!(!under
            .iter()
            .any(|o| o == "--runs" || o == "--force" || o == "--verbose"));
    }
    let flowed = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flowed.contains("One model alone also runs"), "{help}");
}

#[test]
fn help_names_the_default_preset() {
    let default = saar::model::default_preset().unwrap();
    let translator = saar::model::default_translation_preset().unwrap();
    for command in ["summarize", "translate", "split", "batch", "generate"] {
        let help = stdout_of(&[command, "--help"]);
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let named = format!(
            "[default: {}; for translation alone: {}]",
            default.name, translator.name
        );
        assert!(help.contains(&named), "{command}: {help}");
    }
}

/// The preset names in the README's table of presets, a `-1b` suffix expanding the
/// names before it in its row.
fn readme_preset_names() -> Vec<String> {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let mut names = Vec::new();
    let rows = readme
        .lines()
        .skip_while(|line| !line.starts_with("| preset |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'));
    for row in rows {
        let first = row.split('|').nth(1).unwrap();
        let mut row_names: Vec<String> = Vec::new();
        for quoted in first.split('`').skip(1).step_by(2) {
            if quoted.starts_with('-') {
                let expanded: Vec<String> =
                    row_names.iter().map(|n| format!("{n}{quoted}")).collect();
                row_names.extend(expanded);
            } else {
                row_names.push(quoted.to_string());
            }
        }
        names.extend(row_names);
    }
    names
}

#[test]
fn the_readme_lists_every_preset_once() {
    let mut listed = readme_preset_names();
    listed.sort();
    let mut presets: Vec<String> = saar::model::presets()
        .unwrap()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    presets.sort();
    assert_eq!(listed, presets);
}
