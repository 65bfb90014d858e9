//! Reloading the configuration file when it changes.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::Registry;
use super::file::ConfigFileError;

/// How long after the last change the file is read again (editors write in bursts).
const SETTLE: Duration = Duration::from_millis(50);

/// Watches the configuration file; dropping it stops watching.
#[derive(Debug)]
pub struct ConfigWatcher {
    _watcher: notify::RecommendedWatcher,
    path: PathBuf,
}

impl ConfigWatcher {
    /// The file watched.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Registry {
    /// Loads the configuration file at `path`, then reloads it whenever it changes
    /// (its directory is watched, so editors that replace the file are seen too). A
    /// changed file that is invalid is rejected whole, as by
    /// [`load_config`](Registry::load_config): logged, announced, and the previous
    /// configuration stays.
    pub fn watch_config(&'static self, path: impl AsRef<Path>) -> Result<ConfigWatcher, ConfigFileError> {
        let path = path.as_ref();
        self.load_config(path)?;
        let watch_error =
            |e: notify::Error| ConfigFileError::one(path, 0, None, format!("cannot be watched: {e}"));
        let (changes, received) = mpsc::channel();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let _ = changes.send(event);
        })
        .map_err(watch_error)?;
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        watcher.watch(&directory, RecursiveMode::NonRecursive).map_err(watch_error)?;
        let file_name = path.file_name().map(ToOwned::to_owned);
        let reload_path = path.to_path_buf();
        std::thread::Builder::new()
            .name("breaker-config-watch".into())
            .spawn(move || {
                let concerns_file = |event: &notify::Result<notify::Event>| match event {
                    Ok(event) => event.paths.iter().any(|p| p.file_name() == file_name.as_deref()),
                    Err(_) => false,
                };
                // Ends when the watcher is dropped: the channel disconnects.
                while let Ok(event) = received.recv() {
                    if !concerns_file(&event) {
                        continue;
                    }
                    while let Ok(more) = received.recv_timeout(SETTLE) {
                        drop(more);
                    }
                    let _ = self.load_config(&reload_path);
                }
            })
            .map_err(|e| ConfigFileError::one(path, 0, None, format!("cannot be watched: {e}")))?;
        Ok(ConfigWatcher { _watcher: watcher, path: path.to_path_buf() })
    }
}
