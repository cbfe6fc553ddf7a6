//! `sluice daemon reload`: ask the running daemon of a project to reload it.

use std::time::Duration;

use anyhow::Context;
use sluice::SluiceOptions;
use sluice::project::load_project;

use super::{DAEMON_FILE, ReloadArgs, data_dir, project_file};
use crate::Exit;
use crate::http::token;
use crate::render::esc;

/// Longest a reload may take (it loads every pipeline file).
const RELOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// Ask the daemon to reload; print what changed or why it was refused.
pub fn reload(options: &SluiceOptions, explicit: bool, args: &ReloadArgs) -> anyhow::Result<Exit> {
    let file = project_file(&args.project);
    // The file may be the broken one being reloaded: the data directory
    // and token file are read from it leniently.
    let (data, token_file) = match load_project(&file) {
        Ok(p) => (data_dir(options, explicit, &p.data_dir), p.token_file),
        Err(_) => {
            let dir = match file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => std::path::PathBuf::from("."),
            };
            let table: toml::Table = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| toml::from_str(&t).ok())
                .unwrap_or_default();
            let named = table
                .get("data_dir")
                .and_then(|v| v.as_str())
                .unwrap_or(".sluice");
            let token_file = table
                .get("daemon")
                .and_then(|d| d.get("token_file"))
                .and_then(|v| v.as_str())
                .map(|t| dir.join(t));
            (data_dir(options, explicit, &dir.join(named)), token_file)
        }
    };
    let info_path = data.join(DAEMON_FILE);
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info_path).with_context(|| {
            format!(
                "no daemon is running for this project ({} is missing)",
                info_path.display()
            )
        })?)
        .with_context(|| format!("{} is not the daemon's JSON", info_path.display()))?;
    let listen = info["listen"]
        .as_str()
        .context("the daemon file names no address")?;
    let token = token::find(token_file.as_deref(), &data)?;
    let client = reqwest::blocking::Client::builder()
        .timeout(RELOAD_TIMEOUT)
        .build()?;
    let answer = client
        .post(format!("http://{listen}/v1/reload"))
        .bearer_auth(token)
        .send()
        .with_context(|| format!("cannot reach the daemon at {listen}"))?;
    let status = answer.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        anyhow::bail!(
            "the daemon at {listen} refused the token ({status}): pass the token the daemon uses (`token_file` in the project, or SLUICE_API_TOKEN)"
        );
    }
    let body: serde_json::Value =
        serde_json::from_str(&answer.text()?).context("the daemon's answer is not JSON")?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&body)?);
    } else if body["ok"].as_bool() == Some(true) {
        let o = &body["outcome"];
        let list = |k: &str| -> Vec<String> {
            o[k].as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(esc)).collect())
                .unwrap_or_default()
        };
        outln!("Reloaded {}.", file.display());
        for (key, label) in [
            ("added", "added"),
            ("changed", "changed"),
            ("removed", "removed"),
        ] {
            let names = list(key);
            if !names.is_empty() {
                outln!("  {label}: {}", names.join(", "));
            }
        }
        outln!("  unchanged: {} job(s)", list("unchanged").len());
    } else if let Some(e) = body["error"].as_str() {
        outln!(
            "Reload refused; the daemon keeps running the previous configuration.\n{}",
            esc(e)
        );
    } else {
        anyhow::bail!("the daemon answered {status}: {body}");
    }
    Ok(if body["ok"].as_bool() == Some(true) {
        Exit::Success
    } else {
        Exit::Failure
    })
}
