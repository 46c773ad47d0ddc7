//! `relaywatch`: the command line over the engine. Thin: parse arguments, load the validated
//! config, call the engine, print. Errors print as one line and map to exit codes.

mod alerts_cmd;
mod cli;
mod commands;
mod deliver_cmd;
mod health_cmd;
mod history_cmd;
mod ingest_cmd;
mod json_log;
mod logging;
mod rules_cmd;
mod run_cmd;
mod schedule_cmd;
mod secret_cmd;
mod serve_cmd;

use clap::Parser;

fn main() {
    relaywatch_core::secrets::scrub_panics();
    let args = cli::Cli::parse();
    logging::init(&args);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            logging::notice(
                "ERROR",
                &format!("relaywatch: cannot start the async runtime: {e}"),
            );
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
            logging::notice(
                "ERROR",
                &format!(
                    "relaywatch: {}",
                    relaywatch_core::secrets::redact(&format!("{e:#}"))
                ),
            );
            code
        }
    };
    std::process::exit(code);
}
