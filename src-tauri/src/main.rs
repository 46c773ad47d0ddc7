//! `relaywatch-desktop`: parses the command line, runs the keychain check or the tray app.

use relaywatch_desktop::{app, args, keychain};

fn main() {
    // Log lines and panic messages pass the engine's secret scrubber, as the CLI's do.
    relaywatch_core::secrets::scrub_panics();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RELAYWATCH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(|| relaywatch_core::secrets::ScrubWriter(std::io::stderr()))
        .init();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match args::parse(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("relaywatch-desktop: {e}");
            std::process::exit(2);
        }
    };
    if args.keychain_check {
        match keychain::round_trip(&keychain::DesktopKeychain::default()) {
            Ok(b) => {
                println!("keychain round trip ok: {}", b.as_str());
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("relaywatch-desktop: {e}");
                std::process::exit(1);
            }
        }
    }
    std::process::exit(app::run(args));
}
