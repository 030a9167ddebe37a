//! Challenges 3a-3e (broadcast): one binary for every broadcast challenge; `--mode latency|balanced|messages`.
//!
//! Flags and design: `glomers_shell::nodes` and the node's module; `--help` lists the flags.

fn main() -> std::process::ExitCode {
    glomers_shell::nodes::main("broadcast")
}
