//! Maelstrom's Raft guide (lin-kv): a linearizable key-value store on the core's Raft.
//!
//! Flags and design: `glomers_shell::raft` and `docs/raft.md`; `--help` lists the flags.

fn main() -> std::process::ExitCode {
    glomers_shell::nodes::main("lin-kv")
}
