//! The claims `ARCHITECTURE.md` makes about the code's shape, checked on the source itself so
//! they cannot drift again: SDK types only in `adapters/`, every error type answers `fault()`,
//! every limit is named in `limits.rs` (or, for configuration defaults and bounds,
//! `config/defaults.rs`).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn functions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
    }
    out
}

/// The text before the file's `#[cfg(test)]` module (tests may build what they like).
fn without_tests(text: &str) -> &str {
    text.split("\n#[cfg(test)]\nmod ").next().unwrap_or(text)
}

#[test]
fn sdk_types_appear_only_in_adapters() {
    let mut found = Vec::new();
    for krate in ["core", "poller", "events", "ctl"] {
        for (path, text) in sources(&functions_dir().join(krate).join("src")) {
            if path.components().any(|c| c.as_os_str() == "adapters") {
                continue;
            }
            for (n, line) in without_tests(&text).lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if [
                    "aws_sdk_",
                    "aws_config::",
                    "aws_smithy_",
                    "aws_runtime::",
                    "aws_types::",
                ]
                .iter()
                .any(|sdk| code.contains(sdk))
                {
                    found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "SDK types outside adapters/:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_error_type_says_whose_fault_it_is() {
    let files = sources(&functions_dir().join("core").join("src"));
    let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
    let mut missing = Vec::new();
    for (path, text) in &files {
        let lines: Vec<&str> = without_tests(text).lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let is_error = line.trim_start().starts_with("#[derive(") && line.contains("Error");
            if !is_error {
                continue;
            }
            // The item the derive is on: the next `pub enum`/`pub struct` line.
            let Some(item) = lines[i + 1..]
                .iter()
                .find(|l| l.contains("enum ") || l.contains("struct "))
            else {
                continue;
            };
            let name: String = item
                .split_whitespace()
                .skip_while(|w| *w != "enum" && *w != "struct")
                .nth(1)
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.ends_with("Error") {
                continue;
            }
            let has_fault = all
                .match_indices(&format!("impl {name} {{"))
                .any(|(at, _)| {
                    let block = &all[at..];
                    let end = block.find("\n}\n").unwrap_or(block.len());
                    block[..end].contains("pub fn fault(")
                });
            if !has_fault {
                missing.push(format!("{name} ({})", path.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "error types without fault(): {missing:?}"
    );
}

#[test]
fn every_limit_is_named_in_limits_or_the_configuration_defaults() {
    let src = functions_dir().join("core").join("src");
    let mut found = Vec::new();
    for (path, text) in sources(&src) {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if rel == "limits.rs" || rel == "config/defaults.rs" {
            continue;
        }
        for line in without_tests(&text).lines() {
            // Module-level numeric constants (a constant inside a function body is indented).
            let numeric = [
                "usize", "u64", "u32", "u16", "u8", "i64", "i32", "f64", "Duration", "(u64",
                "(usize",
            ];
            let is_const = ["const ", "pub const ", "pub(crate) const "]
                .iter()
                .any(|p| line.starts_with(p));
            if is_const
                && line
                    .split_once(':')
                    .is_some_and(|(_, ty)| numeric.iter().any(|t| ty.trim_start().starts_with(t)))
            {
                found.push(format!("{rel}: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "limits outside limits.rs:\n{}",
        found.join("\n")
    );
}

/// The floors of `functions/core/src`, from the bottom: a module may import only from its own
/// floor or below (`use crate::…` and `crate::…` paths in code, tests aside). Shaping sits above
/// the configuration, the lake and the stream ids it reads, so the pipeline, the records and
/// the ports under it never import them; the adapters sit above the configuration they are
/// built from.
const FLOORS: &[&[&str]] = &[
    &["limits", "clock", "telemetry", "fault", "error_kind"],
    &["ports", "okta", "function_error"],
    &["record"],
    &["ocsf"],
    &["pipeline"],
    &["inventory"],
    &["stream"],
    &["config"],
    &["lake", "adapters", "stream_watch"],
    &["shape"],
    &["summary", "testing"],
    &["run", "metrics"],
    &["sources"],
    &["poller"],
    &["push", "operator"],
    &["handlers"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

#[test]
fn no_import_runs_back_up_a_floor() {
    let src = functions_dir().join("core").join("src");
    let mut found = Vec::new();
    for (path, text) in sources(&src) {
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs");
        if module == "lib" {
            continue;
        }
        let own = floor_of(module).unwrap_or_else(|| panic!("{module} has no floor in FLOORS"));
        if relative.file_name().is_some_and(|f| f == "tests.rs") {
            continue;
        }
        for (n, line) in without_tests(&text).lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let target: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if let Some(floor) = floor_of(&target)
                    && floor > own
                {
                    found.push(format!(
                        "{}:{}: {module} imports {target}",
                        path.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "imports that run back up a floor (ARCHITECTURE.md, Floors):\n{}",
        found.join("\n")
    );
}
