//! Challenges 6a-6c (totally-available transactions): applies locally, replicates write sets.
//!
//! Flags and design: `glomers_shell::nodes` and the node's module; `--help` lists the flags.

fn main() -> std::process::ExitCode {
    glomers_shell::nodes::main("txn")
}
