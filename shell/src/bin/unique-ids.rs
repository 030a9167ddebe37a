//! Challenge 2 (unique ids): every id minted locally by the core flake generator; no server message.
//!
//! Flags and design: `glomers_shell::nodes` and the node's module; `--help` lists the flags.

fn main() -> std::process::ExitCode {
    glomers_shell::nodes::main("unique-ids")
}
