//! One generated input: a plan and the files beside it (base VirtualServices), held in
//! memory, written to a folder for a finding and read back by `--replay`.

use std::fs;
use std::path::Path;

/// The plan's file name; every other file is named relative to the plan's folder.
pub const PLAN: &str = "cutover.yaml";

/// The description written beside a finding's files (not part of the case).
pub const FINDING: &str = "finding.txt";

/// A plan (`files[0]`, named [`PLAN`]) and the files it may read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// (path relative to the plan's folder, contents).
    pub files: Vec<(String, Vec<u8>)>,
}

impl Case {
    /// A case of a plan alone.
    pub fn plan(bytes: Vec<u8>) -> Case {
        Case {
            files: vec![(PLAN.to_owned(), bytes)],
        }
    }

    /// The plan's bytes.
    pub fn plan_bytes(&self) -> &[u8] {
        &self.files[0].1
    }

    /// The file at `rel` (relative to the plan's folder).
    pub fn file(&self, rel: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == rel)
            .map(|(_, b)| b.as_slice())
    }

    /// Total size in bytes: what "smallest input" compares.
    pub fn size(&self) -> usize {
        self.files.iter().map(|(_, b)| b.len()).sum()
    }

    /// Writes every file under `dir` (created).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        for (rel, bytes) in &self.files {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(path, bytes)?;
        }
        Ok(())
    }

    /// Reads a case written by [`Case::save`] (or any folder holding a `cutover.yaml`),
    /// without the finding's description.
    pub fn load(dir: &Path) -> std::io::Result<Case> {
        let mut files = vec![(PLAN.to_owned(), fs::read(dir.join(PLAN))?)];
        let mut stack = vec![dir.to_path_buf()];
        let mut rest = Vec::new();
        while let Some(d) = stack.pop() {
            for entry in fs::read_dir(&d)? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(dir)
                    .map(|r| r.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                if rel != PLAN && rel != FINDING {
                    rest.push((rel, fs::read(&path)?));
                }
            }
        }
        rest.sort();
        files.extend(rest);
        Ok(Case { files })
    }

    /// The files as text for a report: each under a `--- name` line, every line prefixed
    /// with `| `, characters that a terminal would not show escaped.
    pub fn show(&self) -> String {
        let mut out = String::new();
        for (rel, bytes) in &self.files {
            out.push_str(&format!("    --- {rel} ({} bytes)\n", bytes.len()));
            let text = String::from_utf8_lossy(bytes);
            for line in text.split_inclusive('\n') {
                let body = line.strip_suffix('\n').unwrap_or(line);
                let shown: String = body
                    .chars()
                    .flat_map(|c| match c {
                        '\t' => vec!['\t'],
                        c if c.is_control()
                            || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}') =>
                        {
                            c.escape_unicode().collect()
                        }
                        c => vec![c],
                    })
                    .collect();
                out.push_str(&format!("    | {shown}\n"));
            }
            if !bytes.ends_with(b"\n") && !bytes.is_empty() {
                out.push_str("    (no newline at end of file)\n");
            }
            if std::str::from_utf8(bytes).is_err() {
                out.push_str("    (not UTF-8: invalid bytes shown as U+FFFD; the folder has the exact bytes)\n");
            }
        }
        out
    }
}
