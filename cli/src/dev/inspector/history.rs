//! `.inlet/history.jsonl`: the inspector's deliveries on disk, so a restart keeps them. One line
//! per change of a delivery, appended; the last line for an id wins, and the file is rewritten with
//! only the live lines once it has grown well past them. What a line says is the store's business.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};

/// The open history file.
#[derive(Debug)]
pub(super) struct History {
    path: PathBuf,
    file: File,
    /// Bytes in the file, and the bytes the live deliveries' last lines take: when the file
    /// grows well past what is live, it is rewritten with only those.
    written: u64,
    live: HashMap<String, u64>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum HistoryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> HistoryError {
    let path = path.to_owned();
    move |source| HistoryError::Io { path, source }
}

impl History {
    /// Every line of the file at `path`, oldest first; a missing file has none.
    pub(super) fn load(path: &Path) -> Result<Vec<String>, HistoryError> {
        match File::open(path) {
            Ok(file) => BufReader::new(file)
                .lines()
                .collect::<Result<_, _>>()
                .map_err(io_error(path)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(error) => Err(io_error(path)(error)),
        }
    }

    /// Writes `lines` (each with the id it is the last line of) to a fresh file in place of the
    /// one at `path`, and keeps it open to append to.
    pub(super) fn rewrite(
        path: &Path,
        lines: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, HistoryError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let fresh = path.with_extension("jsonl.new");
        let mut file = File::create(&fresh).map_err(io_error(&fresh))?;
        let mut live = HashMap::new();
        let mut written = 0;
        for (id, line) in lines {
            file.write_all(line.as_bytes()).map_err(io_error(&fresh))?;
            written += line.len() as u64;
            live.insert(id, line.len() as u64);
        }
        file.flush().map_err(io_error(&fresh))?;
        drop(file);
        std::fs::rename(&fresh, path).map_err(io_error(path))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_error(path))?;
        Ok(Self {
            path: path.to_owned(),
            file,
            written,
            live,
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the line of id's current state. Whether the file has grown enough to be rewritten.
    pub(super) fn append(&mut self, id: &str, line: &str) -> Result<bool, HistoryError> {
        self.file
            .write_all(line.as_bytes())
            .map_err(io_error(&self.path))?;
        self.written += line.len() as u64;
        self.live.insert(id.to_owned(), line.len() as u64);
        let live: u64 = self.live.values().sum();
        Ok(self.written > 2 * live + 1024 * 1024)
    }

    /// A delivery the record no longer keeps: its lines no longer count as live.
    pub(super) fn forget(&mut self, id: &str) {
        self.live.remove(id);
    }
}
