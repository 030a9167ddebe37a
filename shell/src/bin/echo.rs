//! Challenge 1 (echo): answers every `echo` with `echo_ok` carrying the same value.
//!
//! Flags and design: `glomers_shell::nodes` and the node's module; `--help` lists the flags.

fn main() -> std::process::ExitCode {
    glomers_shell::nodes::main("echo")
}
