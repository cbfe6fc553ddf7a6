//! `sluice-crm-sim`: runs the HubSpot-like CRM simulator on 127.0.0.1 until
//! Ctrl-C. It starts empty (no contacts) and with no faults.

use clap::Parser;
use sluice_crm_sim::{CrmSim, SimConfig};

/// A local, stateful HubSpot-like contacts API for trying Sluice's HTTP
/// connectors. Runs until Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "sluice-crm-sim", version)]
struct Args {
    /// Port on 127.0.0.1 to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8089)]
    port: u16,
    /// OAuth client id the token endpoint accepts.
    #[arg(long, default_value = "sluice-sim-client")]
    client_id: String,
    /// OAuth client secret the token endpoint accepts.
    #[arg(long, default_value = "sluice-sim-secret")]
    client_secret: String,
    /// Also accept this static key (header `X-Api-Key`, or as a bearer token).
    #[arg(long)]
    api_key: Option<String>,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 1800)]
    token_ttl_secs: u64,
    /// How many custom contact properties the simulated plan allows
    /// (unlimited when not given).
    #[arg(long)]
    max_custom_properties: Option<usize>,
}

fn main() {
    let args = Args::parse();
    let config = SimConfig {
        client_id: args.client_id,
        client_secret: args.client_secret,
        api_key: args.api_key,
        token_ttl_secs: args.token_ttl_secs,
        max_custom_properties: args.max_custom_properties,
        ..SimConfig::default()
    };
    let (client_id, client_secret, api_key) = (
        config.client_id.clone(),
        config.client_secret.clone(),
        config.api_key.clone(),
    );
    let sim = match CrmSim::start_on(args.port, config) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!(
                "sluice-crm-sim: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            std::process::exit(1);
        }
    };
    let base = sim.base_url();
    println!("sluice-crm-sim listening on {base}");
    println!("  client_id:     {client_id}");
    println!("  client_secret: {client_secret}");
    if let Some(key) = api_key {
        println!("  api key:       {key}  (header X-Api-Key)");
    }
    println!("  token:         POST {base}/oauth/v1/token  (grant_type=client_credentials)");
    println!("  contacts:      {base}/crm/v3/objects/contacts");
    println!("Press Ctrl-C to stop.");
    // The server runs on its own thread; Ctrl-C's default action ends the
    // process, which is all the shutdown an in-memory simulator needs.
    loop {
        std::thread::park();
    }
}
