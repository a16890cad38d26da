//! Plan discovery and loading: which files are plans, and turning them into [`Job`]s.
//!
//! [`discover`] walks the paths given on the command line; [`load`] parses each plan file. An
//! unusable plan never stops the others: it becomes a [`Job::Invalid`] that the runner reports
//! as an `error` result.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::plan::Plan;

/// One test to run: a valid plan, or a plan file that could not be used.
#[derive(Debug)]
pub enum Job {
    /// A valid plan.
    Plan(Box<Plan>),
    /// An invalid plan: reported as an `error` result under `name` (the file stem).
    Invalid {
        /// Test name: the plan file's stem.
        name: String,
        /// Plan file.
        path: PathBuf,
        /// Why it cannot run.
        message: String,
    },
}

impl Job {
    /// Test name: the plan's `name`, or the file stem of an invalid plan.
    pub fn name(&self) -> &str {
        match self {
            Job::Plan(p) => &p.name,
            Job::Invalid { name, .. } => name,
        }
    }

    /// The plan file.
    pub fn path(&self) -> &Path {
        match self {
            Job::Plan(p) => &p.path,
            Job::Invalid { path, .. } => path,
        }
    }
}

/// Plan files under `paths`, sorted, without duplicates. A path given as a file is taken as is;
/// a directory is searched recursively for plan files ([`is_plan_file`]). While searching,
/// entries whose name starts with `.` (hidden files and directories) and directories named
/// `target` (Cargo build output) are skipped, and symbolic links to directories are not
/// followed, so a link loop cannot recurse forever (symbolic links to plan files are kept).
/// Errors: a path that does not exist, or a directory that cannot be read; the message names
/// the path.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            // `file_type` does not follow symbolic links; `metadata` (below) does.
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if entry.file_name() != "target" {
                    walk(&path, out)?;
                }
            } else if is_plan_file(&path) && (kind.is_file() || path.is_file()) {
                out.push(path);
            }
        }
        Ok(())
    }
    let with_path = |p: &Path, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{}: {e}", p.display()))
    };
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| with_path(p, e))?;
        if meta.is_dir() {
            walk(p, &mut out).map_err(|e| with_path(p, e))?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Whether a file found while searching a directory is a plan: a `*.toml` file that is not a
/// README (`README*`, any case) and not a `Cargo.toml`.
pub fn is_plan_file(path: &Path) -> bool {
    let Some(name) = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
    else {
        return false;
    };
    !name.starts_with("readme")
        && name != "cargo.toml"
        && path.extension().is_some_and(|e| e == "toml")
}

/// Loads every plan file into a [`Job`], in the given order. A plan that cannot be read or is
/// invalid becomes [`Job::Invalid`] with the loader's message; so does a second plan with an
/// already used name (the message names both files).
pub fn load(files: &[PathBuf]) -> Vec<Job> {
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    files
        .iter()
        .map(|path| match Plan::load(path) {
            Ok(plan) => match seen.get(&plan.name) {
                Some(first) => Job::Invalid {
                    name: plan.name.clone(),
                    path: path.clone(),
                    message: format!(
                        "{}: test name {:?} is already used by {}",
                        path.display(),
                        plan.name,
                        first.display()
                    ),
                },
                None => {
                    seen.insert(plan.name.clone(), path.clone());
                    Job::Plan(Box::new(plan))
                }
            },
            Err(e) => Job::Invalid {
                name: path.file_stem().map_or_else(
                    || path.display().to_string(),
                    |s| s.to_string_lossy().into_owned(),
                ),
                path: path.clone(),
                message: e.to_string(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    #[test]
    fn finds_plans_recursively_and_skips_readmes_cargo_target_and_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "a.toml",
            "sub/b.toml",
            "README.toml",
            "readme.md",
            "notes.txt",
            "Cargo.toml",
            "target/debug/c.toml",
            ".git/d.toml",
            ".hidden.toml",
            "sub/target/e.toml",
        ] {
            touch(&d.join(f));
        }
        let files = discover(&[d.to_path_buf()]).unwrap();
        assert_eq!(files, [d.join("a.toml"), d.join("sub/b.toml")]);
        // A file given explicitly is taken as is, and duplicates collapse.
        let files = discover(&[d.join("Cargo.toml"), d.join("a.toml"), d.to_path_buf()]).unwrap();
        assert_eq!(
            files,
            [d.join("Cargo.toml"), d.join("a.toml"), d.join("sub/b.toml")]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_directories_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(&d.join("plans/a.toml"));
        touch(&d.join("elsewhere/x.toml"));
        // A loop (plans/loop -> plans) and a link out of the tree.
        std::os::unix::fs::symlink(d.join("plans"), d.join("plans/loop")).unwrap();
        std::os::unix::fs::symlink(d.join("elsewhere"), d.join("plans/out")).unwrap();
        // A link to a plan file is a plan file.
        std::os::unix::fs::symlink(d.join("elsewhere/x.toml"), d.join("plans/linked.toml"))
            .unwrap();
        let files = discover(&[d.join("plans")]).unwrap();
        assert_eq!(files, [d.join("plans/a.toml"), d.join("plans/linked.toml")]);
    }

    #[test]
    fn missing_paths_are_named() {
        let e = discover(&[PathBuf::from("/no/such/plans")]).unwrap_err();
        assert!(e.to_string().contains("/no/such/plans"));
    }

    #[test]
    fn invalid_and_duplicate_plans_become_invalid_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let write = |f: &str, body: &str| {
            std::fs::write(d.join(f), body).unwrap();
            d.join(f)
        };
        let a = write("a.toml", "name = \"a\"\nprogram = \"p.c\"\n");
        let b = write("b.toml", "name = \"b\"\nprogram = \"p.c\"\nwat = 1\n");
        let c = write("c.toml", "name = \"a\"\nprogram = \"p.c\"\n");
        let jobs = load(&[a.clone(), b.clone(), c.clone()]);
        assert!(matches!(&jobs[0], Job::Plan(p) if p.name == "a"));
        assert!(matches!(&jobs[1], Job::Invalid { name, message, .. }
            if name == "b" && message.contains("wat")));
        assert!(matches!(&jobs[2], Job::Invalid { name, message, .. }
            if name == "a" && message.contains("already used")));
        assert_eq!(jobs[2].path(), c);
    }
}
