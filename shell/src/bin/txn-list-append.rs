//! Maelstrom's Datomic guide (txn-list-append): strict-serializable transactions, each an
//! entry of the core's Raft log.
//!
//! Flags and design: `glomers_shell::raft` and `docs/txn-list-append.md`; `--help` lists the flags.

fn main() -> std::process::ExitCode {
    glomers_shell::nodes::main("txn-list-append")
}
