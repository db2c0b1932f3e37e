//! The adapter reads the table only by key (GetItem, Query): a Scan reads the
//! whole table, costs grow with it, and it is never needed by this layout.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {dir:?}: {e}"));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
    found
}

#[test]
fn no_code_path_scans_the_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = sources(&src);
    assert!(
        files.iter().any(|f| f.ends_with("ledger.rs")) && files.len() >= 5,
        "the sources were not found under {src:?}: {files:?}"
    );
    for file in files {
        let code = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("read {file:?}: {e}"));
        for (number, line) in code.lines().enumerate() {
            assert!(
                !line.contains(".scan("),
                "{}:{} calls Scan: {line}",
                file.display(),
                number + 1
            );
        }
    }
}
