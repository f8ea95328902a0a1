//! `auraloader-server`: runs the local Aura API until Ctrl-C.

use std::io::IsTerminal;
use std::process::ExitCode;

use auraloader_server::{run_until_ctrl_c, start, Cli};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match run(&cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auraloader-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli) -> Result<(), auraloader_server::Error> {
    run_until_ctrl_c(start(cli.config()).await?, cli.print_credentials).await
}
