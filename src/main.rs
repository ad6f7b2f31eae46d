//! The `cutover` binary: a thin wrapper around [`cutover::cli`].

fn main() {
    std::process::exit(cutover::cli::main());
}
