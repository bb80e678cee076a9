//! `terraform-provider-bbws`: the Terraform plugin (protocol 6.10) for
//! bbws tenants. A thin adapter: the protocol lives in `protocol`, the
//! mapping to `bbws-core` in `tenant` and `config`, the handlers in `server`,
//! the RPC routing in `grpc`.

mod actions;
mod attr;
mod config;
mod configured;
mod data_sources;
mod diag;
#[cfg(test)]
mod docs;
mod ephemeral;
mod functions;
mod grpc;
mod list_tenant;
mod model;
mod platform_data;
mod protocol;
mod server;
mod tenant;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Logs go to stderr as hclog JSON lines, where Terraform collects them;
/// the level follows `TF_LOG_PROVIDER` or `TF_LOG` as Terraform users set
/// them. Nothing logged carries a secret: passwords travel as
/// `DbPassword`, whose Debug is redacted, and values are never logged.
fn init_logging() {
    let level = std::env::var("TF_LOG_PROVIDER")
        .or_else(|_| std::env::var("TF_LOG"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let level = match level.as_str() {
        "trace" | "json" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" => LevelFilter::WARN,
        "error" => LevelFilter::ERROR,
        _ => LevelFilter::OFF,
    };
    // Plain targets rather than an env filter: no directive parsing, so no
    // regex engine compiled into the plugin at startup.
    let quiet = level.min(LevelFilter::WARN);
    let filter = Targets::new()
        .with_default(level)
        .with_target("h2", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("tower", LevelFilter::OFF)
        .with_target("rustls", LevelFilter::OFF)
        .with_target("aws_smithy_runtime", quiet)
        .with_target("aws_config", quiet);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .event_format(protocol::log::HclogJson),
        )
        .with(filter)
        .try_init();
}

/// `terraform-provider-bbws --version`: the name and the workspace's
/// version (Cargo.toml), which is also the release's.
const VERSION_LINE: &str = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));

#[tokio::main(flavor = "current_thread")]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("--version" | "-version" | "version") => {
            println!("{VERSION_LINE} (plugin protocol 6.10)");
            return;
        }
        Some(other) if other.starts_with('-') => {
            eprintln!(
                "{VERSION_LINE}: unknown option {other}\nThis is a Terraform plugin: Terraform starts it. The one option is --version."
            );
            std::process::exit(2);
        }
        _ => {}
    }
    init_logging();
    let provider = grpc::BbwsProvider::default();
    let after = provider.after_shutdown();
    if let Err(e) = protocol::plugin::serve(provider).await {
        eprintln!("{e}");
        std::process::exit(1);
    }
    after.run().await;
}
