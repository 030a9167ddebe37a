//! Maelstrom's CRDT guide, `pn-counter` workload: a delta-state CRDT gossiped between nodes.
//!
//! Flags and design: `glomers_shell::nodes` and `glomers_shell::crdt`; `--help` lists the flags.

fn main() -> std::process::ExitCode {
    glomers_shell::nodes::main("pn-counter")
}
