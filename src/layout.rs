//! The generated tree's layout: the one place that turns (migration, part, file kind) into
//! a path, and a path back into them.
//!
//! Under a plan's output folder, each migration has a folder of its own:
//!
//! | part | kustomize layout | flat layout |
//! |---|---|---|
//! | stage `NN-name` | `stages/NN-name/virtualservice.yaml` + `kustomization.yaml` | `NN-name.yaml` |
//! | environment | `envs/ENV/kustomization.yaml` | `envs/ENV.yaml` |
//! | GCPBackend | `gcpbackend/gcpbackend.yaml` + `kustomization.yaml` | `gcpbackend.yaml` |
//! | a stage's verification Job (`everyStage`) | `stages/NN-name/verify-job.yaml` | (none) |
//! | verification Job run by hand | `verify/job.yaml` + `kustomization.yaml` | `verify-job.yaml` |
//!
//! Stage numbers are zero-padded to at least two digits (wider when there are 100 stages
//! or more) so that folder names sort in rollout order.

use std::path::{Path, PathBuf};

use crate::plan::names::is_dns1123_label;
use crate::plan::Layout;

/// A part of a migration's generated tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Rollout stage `number` (1-based) called `name`.
    Stage {
        /// 1-based position in the rollout.
        number: usize,
        /// The stage's name.
        name: String,
    },
    /// The environment called by this name.
    Env(String),
    /// The GCPBackend resource.
    GcpBackend,
    /// The verification Job run by hand (without `everyStage`).
    VerifyJob,
    /// The verification Job of stage `number` called `name` (`everyStage`), in the
    /// stage's folder and listed by its kustomization.
    StageJob {
        /// 1-based position in the rollout.
        number: usize,
        /// The stage's name.
        name: String,
    },
}

/// Which file of a part: its manifest, or (kustomize layout) the kustomization beside it.
/// An environment's one file counts as its manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The VirtualService of a stage, the environment file, the GCPBackend or the Job.
    Manifest,
    /// The `kustomization.yaml` of a stage, GCPBackend or Job folder.
    Kustomization,
}

/// A generated file's place: the migration folder it belongs to, the part, the kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The migration's folder, as the path it was parsed from gives it (everything
    /// before the layout's own components), `/`-separated.
    pub folder: String,
    /// The part of the migration.
    pub part: Part,
    /// Manifest or kustomization.
    pub kind: Kind,
}

const MANIFEST: &str = "virtualservice.yaml";
const STAGE_JOB: &str = "verify-job.yaml";
const KUSTOMIZATION: &str = "kustomization.yaml";

/// The name of stage `number` (1-based) out of `count`, as a folder (kustomize) or file
/// stem (flat): `01-weight-10`.
pub fn stage_name(number: usize, count: usize, name: &str) -> String {
    let width = count.to_string().len().max(2);
    format!("{number:0width$}-{name}")
}

/// A migration's part's file, relative to the migration's folder.
pub fn file(layout: Layout, part: &Part, kind: Kind, count: usize) -> PathBuf {
    let k = kind == Kind::Kustomization;
    let manifest = |kustomize_name: &str| if k { KUSTOMIZATION } else { kustomize_name }.to_owned();
    match (layout, part) {
        (Layout::Kustomize, Part::Stage { number, name }) => Path::new("stages")
            .join(stage_name(*number, count, name))
            .join(manifest(MANIFEST)),
        (Layout::Flat, Part::Stage { number, name }) => {
            PathBuf::from(format!("{}.yaml", stage_name(*number, count, name)))
        }
        (Layout::Kustomize, Part::Env(env)) => Path::new("envs").join(env).join(KUSTOMIZATION),
        (Layout::Flat, Part::Env(env)) => Path::new("envs").join(format!("{env}.yaml")),
        (Layout::Kustomize, Part::GcpBackend) => {
            Path::new("gcpbackend").join(manifest("gcpbackend.yaml"))
        }
        (Layout::Flat, Part::GcpBackend) => PathBuf::from("gcpbackend.yaml"),
        (Layout::Kustomize, Part::VerifyJob) => Path::new("verify").join(manifest("job.yaml")),
        (Layout::Flat, Part::VerifyJob) => PathBuf::from("verify-job.yaml"),
        // The flat layout has no stage folders: plans that ask for one are refused.
        (_, Part::StageJob { number, name }) => Path::new("stages")
            .join(stage_name(*number, count, name))
            .join(STAGE_JOB),
    }
}

/// The absolute path of a part's file: `output/<migration>/<file>`. `count` is the
/// migration's number of stages (it sets the width of stage numbers).
pub fn path(
    layout: Layout,
    output: &Path,
    migration: &str,
    part: &Part,
    kind: Kind,
    count: usize,
) -> PathBuf {
    output.join(migration).join(file(layout, part, kind, count))
}

/// The file name of a part's manifest inside its kustomize folder (what its
/// `kustomization.yaml` lists).
pub fn manifest_name(part: &Part) -> &'static str {
    match part {
        Part::Stage { .. } => MANIFEST,
        Part::Env(_) => KUSTOMIZATION,
        Part::GcpBackend => "gcpbackend.yaml",
        Part::VerifyJob => "job.yaml",
        Part::StageJob { .. } => STAGE_JOB,
    }
}

/// What an environment's kustomization lists: the stage folder, from `envs/<env>/`.
pub fn env_resource(number: usize, count: usize, name: &str) -> String {
    format!("../../stages/{}", stage_name(number, count, name))
}

/// The stage an environment's kustomization resource (`../../stages/NN-name`) names.
pub fn stage_of_resource(resource: &str) -> Option<(usize, String)> {
    let dir = resource.trim_end_matches('/').rsplit('/').next()?;
    split_stage(dir)
}

/// What a stage's kustomization lists besides its VirtualService: the migration's
/// GCPBackend folder, from `stages/<stage>/`, and (when every stage has one) the stage's
/// verification Job beside it.
pub fn stage_resources(gcp_backend: bool, verify_every_stage: bool) -> Vec<String> {
    let mut r = vec![MANIFEST.to_owned()];
    if gcp_backend {
        r.push("../../gcpbackend".to_owned());
    }
    if verify_every_stage {
        r.push(STAGE_JOB.to_owned());
    }
    r
}

/// Parses a path (relative, `/`-separated) of a generated file back into its place.
/// Works for both layouts; the migration folder is everything before the layout's
/// components. `None`: no file cutover generates has this shape.
pub fn parse(rel: &str) -> Option<Place> {
    let parts: Vec<&str> = rel.split('/').collect();
    let (rest, folder) = match parts.as_slice() {
        [folder @ .., "stages", stage, file @ (MANIFEST | KUSTOMIZATION)] if !folder.is_empty() => {
            let (number, name) = split_stage(stage)?;
            (
                place(Part::Stage { number, name }, *file == MANIFEST),
                folder,
            )
        }
        [folder @ .., "stages", stage, STAGE_JOB] if !folder.is_empty() => {
            let (number, name) = split_stage(stage)?;
            (place(Part::StageJob { number, name }, true), folder)
        }
        [folder @ .., "envs", env, KUSTOMIZATION] if !folder.is_empty() => {
            (env_place(env)?, folder)
        }
        [folder @ .., "envs", file] if !folder.is_empty() => {
            (env_place(file.strip_suffix(".yaml")?)?, folder)
        }
        [folder @ .., "gcpbackend", file @ ("gcpbackend.yaml" | KUSTOMIZATION)]
            if !folder.is_empty() =>
        {
            (place(Part::GcpBackend, *file != KUSTOMIZATION), folder)
        }
        [folder @ .., "verify", file @ ("job.yaml" | KUSTOMIZATION)] if !folder.is_empty() => {
            (place(Part::VerifyJob, *file != KUSTOMIZATION), folder)
        }
        [folder @ .., "gcpbackend.yaml"] if !folder.is_empty() => {
            (place(Part::GcpBackend, true), folder)
        }
        [folder @ .., "verify-job.yaml"] if !folder.is_empty() => {
            (place(Part::VerifyJob, true), folder)
        }
        [folder @ .., file] if !folder.is_empty() => {
            let (number, name) = split_stage(file.strip_suffix(".yaml")?)?;
            (place(Part::Stage { number, name }, true), folder)
        }
        _ => return None,
    };
    Some(Place {
        folder: folder.join("/"),
        ..rest
    })
}

/// Parses a path under a plan's output folder: only the shapes cutover writes there, with
/// the migration folder directly under `output`.
pub fn parse_in(output: &Path, path: &Path) -> Option<Place> {
    let rel = path.strip_prefix(output).ok()?;
    let rel = rel.to_str()?;
    let place = parse(&rel.replace(std::path::MAIN_SEPARATOR, "/"))?;
    (!place.folder.contains('/')).then_some(place)
}

fn place(part: Part, manifest: bool) -> Place {
    Place {
        folder: String::new(),
        part,
        kind: if manifest {
            Kind::Manifest
        } else {
            Kind::Kustomization
        },
    }
}

fn env_place(env: &str) -> Option<Place> {
    is_dns1123_label(env).then(|| place(Part::Env(env.to_owned()), true))
}

/// `NN-name` → (NN, name).
fn split_stage(s: &str) -> Option<(usize, String)> {
    let (num, name) = s.split_once('-')?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return None;
    }
    Some((num.parse().ok()?, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(number: usize, name: &str) -> Part {
        Part::Stage {
            number,
            name: name.to_owned(),
        }
    }

    #[test]
    fn stage_names_sort_in_order() {
        assert_eq!(stage_name(1, 5, "weight-10"), "01-weight-10");
        assert_eq!(stage_name(100, 120, "weight-10"), "100-weight-10");
        assert_eq!(stage_name(5, 120, "weight-10"), "005-weight-10");
    }

    #[test]
    fn every_path_parses_back_in_both_layouts() {
        let parts = [
            stage(2, "weight-10"),
            stage(12, "mirror-0-5"),
            Part::Env("prod".into()),
            Part::GcpBackend,
            Part::VerifyJob,
        ];
        for layout in [Layout::Kustomize, Layout::Flat] {
            for part in &parts {
                for kind in [Kind::Manifest, Kind::Kustomization] {
                    let has_kustomization =
                        layout == Layout::Kustomize && !matches!(part, Part::Env(_));
                    if kind == Kind::Kustomization && !has_kustomization {
                        continue;
                    }
                    let p = path(layout, Path::new("/r/d/out"), "checkout", part, kind, 12);
                    let rel = p.strip_prefix("/r").unwrap().to_str().unwrap().to_owned();
                    let want = Place {
                        folder: "d/out/checkout".into(),
                        part: part.clone(),
                        kind,
                    };
                    assert_eq!(parse(&rel), Some(want.clone()), "{rel}");
                    let inside = parse_in(Path::new("/r/d/out"), &p);
                    assert_eq!(inside.map(|p| p.folder), Some("checkout".into()), "{rel}");
                }
            }
        }
    }

    #[test]
    fn other_files_are_not_generated_ones() {
        for rel in [
            "README.md",
            "out/x/notes.yaml",
            "out/x/stages/1/virtualservice.yaml",
            "out/x/stages/01-a/other.yaml",
            "out/x/envs/Not_A_Label.yaml",
            "01-a.yaml",
        ] {
            assert_eq!(parse(rel), None, "{rel}");
        }
        let out = Path::new("/r/out");
        assert_eq!(parse_in(out, Path::new("/r/out/a/b/01-x.yaml")), None);
        assert_eq!(parse_in(out, Path::new("/r/elsewhere/a/01-x.yaml")), None);
    }

    #[test]
    fn environment_resources_name_their_stage() {
        let r = env_resource(3, 4, "weight-50");
        assert_eq!(r, "../../stages/03-weight-50");
        assert_eq!(stage_of_resource(&r), Some((3, "weight-50".into())));
        assert_eq!(
            stage_of_resource("../../stages/03-weight-50/"),
            Some((3, "weight-50".into()))
        );
    }
}
