//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh folder under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates the folder.
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "mclcr-test-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("temporary folder");
        Self(path)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new temporary folder.
pub fn tempdir() -> TempDir {
    TempDir::new()
}

/// A data folder read beside the checkout (`../shared/data/<name>`, or the path in `env`), if
/// `marker` (a file or folder in it) is there. Otherwise the test is skipped with a message,
/// unless `require` is set to 1, which turns the absence into a failure.
pub fn shared_data(name: &str, marker: &str, env: &str, require: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data").join(name));
    if data.join(marker).exists() {
        return Some(data);
    }
    if std::env::var_os(require).is_some_and(|v| v == "1") {
        panic!("{name} is missing at {}", data.display());
    }
    eprintln!("skipping: no {name} at {}", data.display());
    None
}

/// Runs one of the project's Python tools (`tools/<script>`) with `args`, asserts that it
/// succeeded (printing its standard error if not), and returns its standard output.
pub fn python_tool<I, S>(script: &str, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = std::process::Command::new("python3")
        .arg(root.join("tools").join(script))
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stdout).into_owned()
}
