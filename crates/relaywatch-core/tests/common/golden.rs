//! Golden files: compare a rendered text with `tests/golden/<name>`; `UPDATE_GOLDEN=1` writes
//! them instead (review the diff before committing). A missing file is written and fails once,
//! so a new golden is always looked at.

use std::path::PathBuf;

pub fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
        .join(name)
}

pub fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    match std::fs::read_to_string(&path) {
        Ok(expected) if !update => {
            if expected != actual {
                panic!(
                    "golden file {} differs; run with UPDATE_GOLDEN=1 to rewrite it and review the diff\n--- expected\n{expected}\n--- actual\n{actual}",
                    path.display()
                );
            }
        }
        Ok(_) => write(&path, actual),
        Err(_) => {
            write(&path, actual);
            if !update {
                panic!(
                    "golden file {} was missing and has been written: review it and run again",
                    path.display()
                );
            }
        }
    }
}

fn write(path: &std::path::Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}
