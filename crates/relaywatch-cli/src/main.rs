//! `relaywatch`: the command line over the engine. Thin: parse arguments, load the validated
//! config, call the engine, print. Errors print as one line and map to exit codes.

mod alerts_cmd;
mod cli;
mod commands;
mod deliver_cmd;
mod health_cmd;
mod history_cmd;
mod ingest_cmd;
mod run_cmd;
mod schedule_cmd;
mod secret_cmd;
mod serve_cmd;

use clap::Parser;

fn main() {
    relaywatch_core::secrets::scrub_panics();
    let args = cli::Cli::parse();
    let level = args.log_level.clone();
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("RELAYWATCH_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
                level
                    .or_else(|| std::env::var("LOG_LEVEL").ok())
                    .unwrap_or_else(|| "warn".into()),
            )
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Every log line passes `redact`: no secret this process holds reaches the log.
        .with_writer(|| relaywatch_core::secrets::ScrubWriter(std::io::stderr()))
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("relaywatch: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(commands::run(args)) {
        Ok(code) => code,
        Err(e) => {
            let code = e
                .downcast_ref::<relaywatch_core::Error>()
                .map(|e| e.exit_code())
                .unwrap_or(1);
            eprintln!(
                "relaywatch: {}",
                relaywatch_core::secrets::redact(&format!("{e:#}"))
            );
            code
        }
    };
    std::process::exit(code);
}
