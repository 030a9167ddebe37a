//! Logging setup: `tracing` to stderr, never stdout.
//!
//! The filter comes from the `GLOMERS_LOG` environment variable in `tracing-subscriber`'s
//! `EnvFilter` syntax (e.g. `debug`, `glomers_shell=trace`); default `warn`.

/// Environment variable holding the log filter.
pub const LOG_ENV: &str = "GLOMERS_LOG";

/// Installs the stderr subscriber. Safe to call more than once: later calls do nothing.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(LOG_ENV)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}
