//! Unified diffs of a [`Changeset`], in the form `git apply` accepts.

use similar::TextDiff;

use crate::tree::{Change, Changeset, Status};

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

/// The git-style unified diff of one changed file, with `a/` and `b/` paths relative
/// to the repository root and `/dev/null` for added and removed files.
///
/// The diff is bytes, not text: a hand-edited file that is not valid UTF-8 is diffed
/// byte for byte, so `git apply` still accepts the patch.
pub fn file_diff(change: &Change) -> Vec<u8> {
    let old: &[u8] = change.old.as_deref().unwrap_or_default();
    let new: &[u8] = change.new.as_deref().map(str::as_bytes).unwrap_or_default();
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
    for hunk in diff
        .unified_diff()
        .context_radius(CONTEXT)
        .missing_newline_hint(true)
        .iter_hunks()
    {
        hunk.to_writer(&mut out)
            .expect("writing to a Vec cannot fail");
    }
    out
}

/// The diff of every change, in changeset order.
pub fn unified(changes: &Changeset) -> Vec<u8> {
    changes.changes.iter().flat_map(file_diff).collect()
}

/// Counts of added and removed lines in a file diff (for summaries).
pub fn line_counts(diff: &[u8]) -> (usize, usize) {
    let mut plus = 0;
    let mut minus = 0;
    for line in diff.split(|b| *b == b'\n') {
        if line.starts_with(b"+++") || line.starts_with(b"---") {
            continue;
        }
        if line.starts_with(b"+") {
            plus += 1;
        } else if line.starts_with(b"-") {
            minus += 1;
        }
    }
    (plus, minus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn non_utf8_lines_are_kept_byte_for_byte() {
        let mut c = change(Status::Modified, None, Some("a\n"));
        c.old = Some(b"caf\xe9\n".to_vec());
        let d = file_diff(&c);
        assert!(d.windows(6).any(|w| w == b"-caf\xe9\n"));
    }

    fn change(status: Status, old: Option<&str>, new: Option<&str>) -> Change {
        Change {
            path: PathBuf::from("/r/x.yaml"),
            rel: "x.yaml".into(),
            status,
            old: old.map(|s| s.as_bytes().to_vec()),
            new: new.map(str::to_owned),
            plan: 0,
            migration: "m".into(),
        }
    }

    #[test]
    fn added_file() {
        let d = String::from_utf8(file_diff(&change(Status::Added, None, Some("a\nb\n")))).unwrap();
        assert_eq!(
            d,
            "diff --git a/x.yaml b/x.yaml\nnew file mode 100644\n--- /dev/null\n+++ b/x.yaml\n@@ -0,0 +1,2 @@\n+a\n+b\n"
        );
        assert_eq!(line_counts(d.as_bytes()), (2, 0));
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
}
