//! Challenges 5a-5c (Kafka-style log): answers locally, replicates to peers in batches.
//!
//! Flags and design: `glomers_shell::nodes` and the node's module; `--help` lists the flags.

fn main() -> std::process::ExitCode {
    glomers_shell::nodes::main("kafka")
}
