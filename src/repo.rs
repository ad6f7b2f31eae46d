//! The repository a plan lives in: finding its root and keeping paths inside it.

use std::path::{Component, Path, PathBuf};

/// The folder whose contents cutover may write for a plan in `dir`: the enclosing git
/// work tree (the nearest ancestor holding `.git`), or `dir` itself outside git.
/// `dir` must be absolute.
pub fn find_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|a| a.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// Resolves `.` and `..` in `path` without touching the file system.
/// Returns `None` when `..` would climb above the start of a relative path or the root.
pub fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let mut depth = 0usize;
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => out.push(c.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return None;
                }
                out.pop();
                depth -= 1;
            }
            Component::Normal(n) => {
                out.push(n);
                depth += 1;
            }
        }
    }
    Some(out)
}

/// `path` relative to `root`, with `/` separators, or `None` when it is not inside `root`.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    })
}

/// `path` (absolute or relative to the current folder) relative to `root` (canonical),
/// `/`-separated; `None` outside it. The current folder may be reached through a
/// symlink: the parent folder is resolved when it exists.
pub fn relative_from_cwd(root: &Path, path: &Path) -> Option<String> {
    let abs = std::path::absolute(path).ok()?;
    let abs = normalize(&abs)?;
    let parent = abs.parent()?.canonicalize().ok();
    let abs = match (parent, abs.file_name()) {
        (Some(p), Some(n)) => p.join(n),
        _ => abs,
    };
    relative(root, &abs)
}

/// For each of `paths`, the first of `folders` that holds it, if any. Both must be
/// sorted (in `Path` order, where what lies under a folder follows it in one run), so
/// one pass over both does it: a large repository's files are matched against its
/// generated trees without hashing each file's ancestors.
pub fn first_folder_holding<P: AsRef<Path>>(paths: &[P], folders: &[&Path]) -> Vec<Option<usize>> {
    let mut j = 0;
    paths
        .iter()
        .map(|p| {
            let p = p.as_ref();
            // A folder before `p` that does not hold it holds nothing after it either.
            while j < folders.len() && folders[j] < p && !p.starts_with(folders[j]) {
                j += 1;
            }
            (j < folders.len() && p.starts_with(folders[j])).then_some(j)
        })
        .collect()
}

/// `path` relative to `root` for messages, or the whole path when it is outside `root`.
pub fn display_rel(root: &Path, path: &Path) -> String {
    relative(root, path).unwrap_or_else(|| path.display().to_string())
}

/// The deepest existing ancestor of `path` (or `path` itself), with symlinks resolved.
/// Used to check that a folder which may not exist yet would land inside the repository.
pub fn canonical_existing_prefix(path: &Path) -> std::io::Result<PathBuf> {
    let mut rest = Vec::new();
    let mut cur = path.to_path_buf();
    loop {
        match cur.canonicalize() {
            Ok(c) => {
                let mut out = c;
                for part in rest.iter().rev() {
                    out.push(part);
                }
                return Ok(out);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let Some(name) = cur.file_name().map(|n| n.to_os_string()) else {
                    return Err(e);
                };
                rest.push(name);
                if !cur.pop() {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_folder_holding_each_path_in_one_pass() {
        let mut paths: Vec<PathBuf> = ["/a-b/x", "/a/b/c", "/a", "/a/c", "/b/x", "/c", "/d/e/f"]
            .iter()
            .map(PathBuf::from)
            .collect();
        // In `Path` order, `/a/...` comes before `/a-b` (component by component).
        paths.sort();
        assert_eq!(paths[3], Path::new("/a-b/x"));
        let folders = [Path::new("/a"), Path::new("/b"), Path::new("/d/e")];
        assert_eq!(
            first_folder_holding(&paths, &folders),
            [Some(0), Some(0), Some(0), None, Some(1), None, Some(2)]
        );
        assert_eq!(first_folder_holding(&paths, &[]), [None; 7]);
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(
            normalize(Path::new("/r/a/./b/../c")),
            Some(PathBuf::from("/r/a/c"))
        );
        assert_eq!(normalize(Path::new("a/../..")), None);
        assert_eq!(normalize(Path::new("/..")), None);
    }

    #[test]
    fn relative_paths_use_slashes() {
        assert_eq!(
            relative(Path::new("/r"), Path::new("/r/a/b")),
            Some("a/b".into())
        );
        assert_eq!(relative(Path::new("/r"), Path::new("/r")), Some(".".into()));
        assert_eq!(relative(Path::new("/r"), Path::new("/other")), None);
    }

    #[test]
    fn finds_git_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        assert_eq!(find_root(&root.join("a/b")), root);
        let plain = tempfile::tempdir().unwrap();
        let p = plain.path().canonicalize().unwrap();
        assert_eq!(find_root(&p), p);
    }

    #[test]
    fn canonical_prefix_of_missing_path() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        assert_eq!(
            canonical_existing_prefix(&root.join("x/y")).unwrap(),
            root.join("x/y")
        );
    }
}
