//! `cutover init`: write a commented starter plan.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{Failure, Globals, Output, EXIT_OK};
use crate::error::Error;
use crate::plan::starter::{self, Starter};

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it: `cutover.yaml` or `NAME.cutover.yaml`, outside hidden folders,
    /// `target` and `node_modules`, so that the plan search (and `check`) finds it.
    #[arg(value_name = "FILE", default_value = "cutover.yaml")]
    file: PathBuf,
    /// The migration name.
    #[arg(long, default_value = "checkout")]
    name: String,
    /// The namespace.
    #[arg(long, default_value = "payments")]
    namespace: String,
    /// The VirtualService's name (default: the migration name); name an existing one to
    /// take it over.
    #[arg(long, value_name = "NAME")]
    virtual_service: Option<String>,
    /// The ServiceEntry host.
    #[arg(long, default_value = "cr-service-entry.com")]
    from: String,
    /// The GCPBackend host.
    #[arg(long, default_value = "cr-gcpbackend.com")]
    to: String,
    /// Weight stages, comma-separated.
    #[arg(long, default_value = "10,25,50,100")]
    stages: String,
    /// Start with a mirror stage of this percentage.
    #[arg(long, value_name = "PERCENT")]
    mirror: Option<f64>,
    /// The output folder, relative to the plan.
    #[arg(long, default_value = "deploy/cutover")]
    output: String,
}

/// Writes the starter plan (never over a file) and prints what to run next.
pub(crate) fn run(args: &InitArgs, g: &Globals, out: &Output) -> Result<i32, Failure> {
    let starter = Starter {
        name: args.name.clone(),
        namespace: args.namespace.clone(),
        virtual_service: args.virtual_service.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        stages: starter::parse_stages(&args.stages)
            .map_err(|e| Error::Refused(format!("--stages: {e}")))?,
        mirror: args.mirror,
        output: args.output.clone(),
    };
    let plan = starter::write(g.loader(), &args.file, &starter)?;
    // What `validate` would warn about, said now (a rollout that never reaches 100%, a
    // mirror stage).
    for w in &plan.warnings {
        out.diagnostic(w);
    }
    for w in crate::review::explain::warnings(&plan) {
        out.diagnostic(&w);
    }
    let f = args.file.display();
    out.line(
        &format!(
            "wrote {f}\nnext:\n  cutover explain {f}    # what the rollout does\n  cutover diff {f}       # the files it will write\n  cutover render {f}     # write them, then commit the plan and the tree"
        ),
        EXIT_OK,
    )?;
    Ok(EXIT_OK)
}
