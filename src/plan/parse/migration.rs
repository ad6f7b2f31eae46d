//! A complete migration: its own fields over `defaults`, checked as a whole.

use super::fields::{Fields, MIGRATION_KEYS};
use super::{join, Ctx};
use crate::plan::stage::Stage;
use crate::plan::{Environment, Migration, VerifyJob};
use crate::yaml::{Node, Span, Value};

impl Ctx<'_> {
    /// The migration at `field`, or `None` when it is incomplete or invalid (reported).
    pub(super) fn migration(
        &mut self,
        node: &Node,
        field: &str,
        defaults: &Fields,
    ) -> Option<Migration> {
        let own = self.fields(node, field, MIGRATION_KEYS);
        if !matches!(node.value, Value::Map(_)) {
            return None;
        }
        let f = own.inherit(defaults);
        // Every check runs, so that all problems are reported at once.
        let mut complete = self.required(&f, node, field);
        complete &= self.distinct_hosts(&f, field);
        let (stages, stages_field, stages_span) = f.stages.clone()?;
        self.warn_unfinished(&f, field, &stages, &stages_field, stages_span);
        let mut environments = f.environments.clone().unwrap_or_default();
        complete &= self.environment_stages(&f, field, &environments, &stages);
        environments.sort_by(|a, b| a.name.cmp(&b.name));
        if !complete {
            return None;
        }
        self.complete(f, field, stages, environments)
    }

    /// Reports the required fields neither the migration nor `defaults` sets.
    fn required(&mut self, f: &Fields, node: &Node, field: &str) -> bool {
        let missing: Vec<&str> = ["name", "namespace", "from", "to", "stages"]
            .into_iter()
            .filter(|k| !f.has(k))
            .collect();
        if missing.is_empty() {
            return true;
        }
        let list = missing
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let what = if missing.len() == 1 {
            "field"
        } else {
            "fields"
        };
        let d = self.error(field, node.span, format!("missing required {what} {list}"));
        if missing != ["name"] {
            Self::help(
                d,
                "set them in the migration, or in `defaults` (all but `name`)",
            );
        }
        false
    }

    /// `from` and `to` must differ.
    fn distinct_hosts(&mut self, f: &Fields, field: &str) -> bool {
        let (Some((from, _)), Some((to, span))) = (&f.from, &f.to) else {
            return true;
        };
        if !from.eq_ignore_ascii_case(to) {
            return true;
        }
        let d = self.error(
            &join(field, "to"),
            *span,
            format!("`to` is the same host as `from` ({from})"),
        );
        Self::help(
            d,
            "`from` is the ServiceEntry host, `to` the GCPBackend host",
        );
        false
    }

    /// The verification Job with its name: the plan's, or `<migration>-verify`; refused
    /// when its Job names would exceed Kubernetes' 63 characters (reported where the name
    /// is written, or at the migration's name when it is the default).
    fn verify_named(
        &mut self,
        field: &str,
        migration: &str,
        migration_at: Span,
        name: Option<(String, Span)>,
        mut v: VerifyJob,
        stages: usize,
    ) -> Option<VerifyJob> {
        let set = name.is_some();
        let (name, at) = name.unwrap_or_else(|| (format!("{migration}-verify"), migration_at));
        v.name = name;
        let max = v.max_name_len(stages);
        if v.name.len() <= max {
            return Some(v);
        }
        let (path, fix) = if set {
            (join(field, "verify.name"), "shorten `verify.name`")
        } else {
            (join(field, "verify"), "set `verify.name`")
        };
        let d = self.error(
            &path,
            at,
            format!("the Job name `{}` is longer than {max} characters", v.name),
        );
        let suffix = if max < 63 {
            " (each stage's Job adds `-<stage number>-<8-digit hash>` to it, within Kubernetes' 63)"
        } else {
            ""
        };
        Self::help(d, format!("{fix} to at most {max} characters{suffix}"));
        None
    }

    /// Warns when the last stage does not send all traffic to `to`.
    fn warn_unfinished(
        &mut self,
        f: &Fields,
        field: &str,
        stages: &[Stage],
        stages_field: &str,
        stages_span: Span,
    ) {
        let Some(last) = stages.last() else {
            return;
        };
        if last.to_weight() < 100 {
            let d = self.warn(
                stages_field,
                stages_span,
                format!(
                    "the last stage of migration {} sends {}% to `to`; the migration never completes",
                    f.name.as_ref().map_or(field, |(n, _)| n.as_str()),
                    last.to_weight()
                ),
            );
            Self::help(d, "end the rollout with `weight: 100`");
        }
    }

    /// Every environment runs a stage the migration has.
    fn environment_stages(
        &mut self,
        f: &Fields,
        field: &str,
        environments: &[Environment],
        stages: &[Stage],
    ) -> bool {
        let mut ok = true;
        for env in environments {
            if !stages.iter().any(|s| s.name == env.stage) {
                let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
                let migration = f.name.as_ref().map_or(field, |(n, _)| n.as_str());
                let d = self.error(
                    &env.field,
                    env.span,
                    format!(
                        "environment `{}` runs stage `{}`, which migration {migration} does not have",
                        env.name, env.stage
                    ),
                );
                Self::help(d, format!("its stages are: {}", names.join(", ")));
                ok = false;
            }
        }
        ok
    }

    /// The migration from checked fields, with defaults filled in.
    fn complete(
        &mut self,
        f: Fields,
        field: &str,
        stages: Vec<Stage>,
        environments: Vec<Environment>,
    ) -> Option<Migration> {
        let (name, name_at) = f.name?;
        let gcp_backend = f.gcp_backend.map(|(n, mut g)| {
            g.name = n.unwrap_or_else(|| name.clone());
            g
        });
        let verify = match f.verify {
            Some((n, v)) => Some(self.verify_named(field, &name, name_at, n, v, stages.len())?),
            None => None,
        };
        let location = self.lines.snippet(self.source, name_at);
        let (from, _) = f.from?;
        let (to, _) = f.to?;
        let (namespace, _) = f.namespace?;
        Some(Migration {
            virtual_service: f.virtual_service.map_or_else(|| name.clone(), |(v, _)| v),
            hosts: f.hosts.unwrap_or_else(|| vec![from.clone()]),
            gateways: f.gateways.unwrap_or_default(),
            name,
            namespace,
            from,
            to,
            stages,
            environments,
            base: f.base,
            allow_managed_base: f.allow_managed_base.unwrap_or(false),
            gcp_backend,
            verify,
            location,
        })
    }
}
