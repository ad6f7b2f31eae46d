//! File-level differences between two trees, and their unified diffs in the form
//! `git apply` accepts.

use std::collections::BTreeMap;

use similar::{DiffTag, TextDiff};

use crate::error::{Error, Result};
use crate::sync::compare::{Changeset, Status};

/// A tree of files: path relative to the repository root → contents.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// One file that differs between two trees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the repository root, `/`-separated.
    pub rel: String,
    /// Added, modified or removed.
    pub status: Status,
    /// Contents before (`None` when added).
    pub old: Option<Vec<u8>>,
    /// Contents after (`None` when removed).
    pub new: Option<Vec<u8>>,
}

/// The files that differ between `old` and `new`, sorted by path.
pub fn between(old: &Tree, new: &Tree) -> Vec<FileChange> {
    let mut out = Vec::new();
    for (rel, n) in new {
        match old.get(rel) {
            None => out.push(FileChange {
                rel: rel.clone(),
                status: Status::Added,
                old: None,
                new: Some(n.clone()),
            }),
            Some(o) if o != n => out.push(FileChange {
                rel: rel.clone(),
                status: Status::Modified,
                old: Some(o.clone()),
                new: Some(n.clone()),
            }),
            Some(_) => {}
        }
    }
    for (rel, o) in old {
        if !new.contains_key(rel) {
            out.push(FileChange {
                rel: rel.clone(),
                status: Status::Removed,
                old: Some(o.clone()),
                new: None,
            });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

/// The trees before and after applying `changes`, given `wanted`: every file the plans
/// produce (path relative to the root → contents). `changes` must have been computed
/// with their old contents kept; a change without them is an internal error (it would
/// show the file as empty).
pub fn trees_of(changes: &Changeset, wanted: Tree) -> Result<(Tree, Tree)> {
    let mut old = wanted.clone();
    for c in &changes.changes {
        match c.status {
            Status::Added => {
                old.remove(&c.rel);
            }
            Status::Modified | Status::Removed => {
                let contents = c.old.clone().ok_or_else(|| {
                    Error::Internal(format!(
                        "{} differs from the plans, but its contents were not kept",
                        c.rel
                    ))
                })?;
                old.insert(c.rel.clone(), contents);
            }
        }
    }
    Ok((old, wanted))
}

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

/// Counts of inserted and deleted lines of one file's diff.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineCounts {
    /// Lines only in the new contents.
    pub insertions: usize,
    /// Lines only in the old contents.
    pub deletions: usize,
}

/// The git-style unified diff of one changed file, with `a/` and `b/` paths relative
/// to the repository root and `/dev/null` for added and removed files.
///
/// The diff is bytes, not text: a hand-edited file that is not valid UTF-8 is diffed
/// byte for byte, so `git apply` still accepts the patch.
pub fn file_diff(change: &FileChange) -> Vec<u8> {
    counted_file_diff(change).0
}

/// [`file_diff`] and its line counts, from one diff of the contents.
pub fn counted_file_diff(change: &FileChange) -> (Vec<u8>, LineCounts) {
    // No contents on one side: the file is added or removed.
    let old: &[u8] = change.old.as_deref().unwrap_or_default();
    let new: &[u8] = change.new.as_deref().unwrap_or_default();
    let path = &change.rel;
    let mut out = format!("diff --git a/{path} b/{path}\n");
    let (from, to) = match change.status {
        Status::Added => {
            out.push_str("new file mode 100644\n");
            ("/dev/null".to_owned(), format!("b/{path}"))
        }
        Status::Removed => {
            out.push_str("deleted file mode 100644\n");
            (format!("a/{path}"), "/dev/null".to_owned())
        }
        Status::Modified => (format!("a/{path}"), format!("b/{path}")),
    };
    out.push_str(&format!("--- {from}\n+++ {to}\n"));
    let mut out = out.into_bytes();
    let diff = TextDiff::from_lines(old, new);
    write_hunks(&diff, &mut out);
    (out, counts(&diff))
}

/// The unified-diff hunks (no file header) turning `old` into `new`.
pub fn hunks(old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_hunks(&TextDiff::from_lines(old, new), &mut out);
    out
}

fn write_hunks(diff: &TextDiff<'_, '_, [u8]>, out: &mut Vec<u8>) {
    for hunk in diff
        .unified_diff()
        .context_radius(CONTEXT)
        .missing_newline_hint(true)
        .iter_hunks()
    {
        hunk.to_writer(&mut *out)
            .expect("writing to a Vec cannot fail");
    }
}

/// Inserted and deleted lines, counted on the diff's operations (not on its text, where
/// a removed `---` line would look like a file header).
fn counts(diff: &TextDiff<'_, '_, [u8]>) -> LineCounts {
    let mut c = LineCounts::default();
    for op in diff.ops() {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {}
            DiffTag::Delete => c.deletions += old.len(),
            DiffTag::Insert => c.insertions += new.len(),
            DiffTag::Replace => {
                c.deletions += old.len();
                c.insertions += new.len();
            }
        }
    }
    c
}

/// The 1-based line of the first change in the new file (1 for removed files).
pub fn first_changed_line(change: &FileChange) -> usize {
    let (Some(old), Some(new)) = (&change.old, &change.new) else {
        return 1;
    };
    let diff = TextDiff::from_lines(old.as_slice(), new.as_slice());
    diff.ops()
        .iter()
        .find(|op| op.tag() != DiffTag::Equal)
        .map_or(1, |op| op.new_range().start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_lines_are_kept_byte_for_byte() {
        let mut c = change(Status::Modified, None, Some("a\n"));
        c.old = Some(b"caf\xe9\n".to_vec());
        let d = file_diff(&c);
        assert!(d.windows(6).any(|w| w == b"-caf\xe9\n"));
    }

    fn change(status: Status, old: Option<&str>, new: Option<&str>) -> FileChange {
        FileChange {
            rel: "x.yaml".into(),
            status,
            old: old.map(|s| s.as_bytes().to_vec()),
            new: new.map(|s| s.as_bytes().to_vec()),
        }
    }

    #[test]
    fn trees_are_compared_by_path_and_bytes() {
        let t = |pairs: &[(&str, &str)]| -> Tree {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect()
        };
        let old = t(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let new = t(&[("b", "2"), ("c", "4"), ("d", "5")]);
        let got: Vec<_> = between(&old, &new)
            .into_iter()
            .map(|c| (c.rel, c.status))
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_owned(), Status::Removed),
                ("c".to_owned(), Status::Modified),
                ("d".to_owned(), Status::Added)
            ]
        );
    }

    #[test]
    fn first_changed_line_points_into_the_new_file() {
        let c = change(Status::Modified, Some("a\nb\nc\n"), Some("a\nb\nX\n"));
        assert_eq!(first_changed_line(&c), 3);
    }

    #[test]
    fn added_file() {
        let d = String::from_utf8(file_diff(&change(Status::Added, None, Some("a\nb\n")))).unwrap();
        assert_eq!(
            d,
            "diff --git a/x.yaml b/x.yaml\nnew file mode 100644\n--- /dev/null\n+++ b/x.yaml\n@@ -0,0 +1,2 @@\n+a\n+b\n"
        );
        assert_eq!(
            counted_file_diff(&change(Status::Added, None, Some("a\nb\n"))).1,
            LineCounts {
                insertions: 2,
                deletions: 0
            }
        );
    }

    #[test]
    fn removed_file() {
        let d = String::from_utf8(file_diff(&change(Status::Removed, Some("a\n"), None))).unwrap();
        assert_eq!(
            d,
            "diff --git a/x.yaml b/x.yaml\ndeleted file mode 100644\n--- a/x.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n"
        );
    }

    #[test]
    fn modified_file_without_final_newline() {
        let d = String::from_utf8(file_diff(&change(
            Status::Modified,
            Some("a\nb"),
            Some("a\nc\n"),
        )))
        .unwrap();
        assert!(d.contains("-b\n\\ No newline at end of file\n+c\n"), "{d}");
    }

    #[test]
    fn lines_that_look_like_file_headers_are_counted() {
        // A YAML document marker removed, and a `+++` line added.
        let c = change(
            Status::Modified,
            Some("---\na: 1\n--- x\n"),
            Some("a: 1\n+++ y\n"),
        );
        let (d, counts) = counted_file_diff(&c);
        let text = String::from_utf8(d).unwrap();
        assert!(text.contains("\n----\n"), "{text}");
        assert_eq!(
            counts,
            LineCounts {
                insertions: 1,
                deletions: 2
            },
            "{text}"
        );
    }

    #[test]
    fn a_change_without_its_old_contents_is_an_internal_error() {
        let changes = Changeset {
            changes: vec![crate::sync::compare::Change {
                path: "x.yaml".into(),
                rel: "x.yaml".into(),
                status: Status::Modified,
                old: None,
                new: Some("a\n".into()),
                plan: 0,
                reason: None,
            }],
            ..Changeset::default()
        };
        let wanted: Tree = [("x.yaml".to_owned(), b"a\n".to_vec())].into();
        let err = trees_of(&changes, wanted).unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err}");
    }
}
