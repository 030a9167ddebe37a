//! `glomers`: run Gossip Glomers workloads against node binaries, Maelstrom-compatible.
//!
//! Exit status as Maelstrom's: 0 valid, 1 invalid, 2 unknown, 254 bad arguments, 255
//! internal error or crash.

use clap::Parser;
use glomers_harness::cli::{self, Cli, Command};

fn main() {
    let code = match Cli::try_parse() {
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 254,
            };
            let _ = e.print();
            code
        }
        Ok(cli) => match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => {
                let code = rt.block_on(dispatch(cli));
                // Dropping the runtime drops every task and with them the child handles
                // (kill_on_drop), so nothing survives us.
                rt.shutdown_timeout(std::time::Duration::from_secs(2));
                code
            }
            Err(e) => {
                eprintln!("glomers: cannot start the runtime: {e}");
                255
            }
        },
    };
    std::process::exit(code);
}

async fn dispatch(cli: Cli) -> i32 {
    match cli.command {
        Command::Test(args) => {
            let line: Vec<String> = std::env::args().collect();
            match cli::validate(&args, cli::Mode::Process, line) {
                Err(e) => {
                    eprintln!("glomers: {e}");
                    254
                }
                Ok(cfg) => glomers_harness::app::run_test(cfg).await.code,
            }
        }
        Command::Sim(args) => {
            let line: Vec<String> = std::env::args().collect();
            match cli::validate(&args.test, cli::Mode::Sim, line) {
                Err(e) => {
                    eprintln!("glomers: {e}");
                    254
                }
                Ok(cfg) => match args.seeds {
                    Some(seeds) => glomers_harness::app::run_swarm(cfg, seeds).await,
                    None => glomers_harness::app::run_test(cfg).await.code,
                },
            }
        }
        Command::Challenge(a) => glomers_harness::challenges::challenge(&a).await,
        Command::Challenges(a) => glomers_harness::challenges::all(&a).await,
        Command::FaultSweep(a) => glomers_harness::sweep::run(&a).await,
        Command::BroadcastFrontier(a) => glomers_harness::frontier::run(&a).await,
        Command::CrdtFrontier(a) => glomers_harness::crdt_frontier::run(&a).await,
        Command::Serve(a) => glomers_harness::serve::run(&a).await,
        Command::Report(a) => glomers_harness::app::rewrite_report(&a.dir),
    }
}
