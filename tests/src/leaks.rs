//! For the tests that check what must never show: every log line of the process, and every
//! file the service stored.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Every log line of the test process from [`CapturedLogs::install`] on.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Installs the process's tracing subscriber at `filter` (e.g. `debug`), writing here.
    pub fn install(filter: &str) -> Self {
        let logs = Self::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(move || writer.clone())
            .init();
        logs
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Every file under `dir` as (path, text), but those whose extension is `except`.
pub fn files_under(dir: &Path, except: Option<&str>) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if except.is_none_or(|skip| path.extension().is_none_or(|e| e != skip)) {
                let bytes = std::fs::read(&path).unwrap();
                found.push((
                    path.display().to_string(),
                    String::from_utf8_lossy(&bytes).into_owned(),
                ));
            }
        }
    }
    found
}
