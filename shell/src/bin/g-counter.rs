//! Challenge 4 (grow-only counter): `--mode kv` (seq-kv, default) or `--mode crdt`.
//!
//! Flags and design: `glomers_shell::nodes` and the node's module; `--help` lists the flags.

fn main() -> std::process::ExitCode {
    glomers_shell::nodes::main("g-counter")
}
