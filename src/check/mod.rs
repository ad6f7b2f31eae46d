//! Checks of rendered manifests before anything is written: each manifest is read back
//! and compared with what the plan asked for ([`readback`]), and each VirtualService is
//! checked against Istio's CRD schema and semantic rules ([`istio`]). [`lint`] runs the
//! Istio checks on any file. [`references`] finds kustomizations elsewhere in the
//! repository that point at generated paths the plans no longer produce.

pub mod istio;
pub mod lint;
pub mod readback;
pub mod references;
