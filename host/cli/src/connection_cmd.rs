use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::render::{print_json, table};
use super::{Exit, Format};
use sluice::Sluice;
use sluice::bindings::http::{HttpError, Method, Request};
use sluice::connection::{AuthConfig, CONNECTIONS_ENV, Connection, Connections};

/// `sluice connection`.
#[derive(Debug, Args)]
pub struct ConnectionArgs {
    #[command(subcommand)]
    command: ConnectionCommand,
}

#[derive(Debug, Subcommand)]
enum ConnectionCommand {
    /// List the connection profiles of a connections file.
    List {
        #[command(flatten)]
        file: FileArg,
        #[command(flatten)]
        format: Format,
    },
    /// Check that a connection works: reach it, authenticate, and say in
    /// plain words what is wrong if it does not.
    Test {
        /// The connection's name.
        name: String,
        #[command(flatten)]
        file: FileArg,
        #[command(flatten)]
        format: Format,
    },
}

#[derive(Debug, Args)]
struct FileArg {
    /// The connections file (default: `$SLUICE_CONNECTIONS`, or
    /// `connections.toml` in the current directory).
    #[arg(long)]
    connections: Option<PathBuf>,
}

impl FileArg {
    fn load(&self) -> anyhow::Result<Connections> {
        let path = self
            .connections
            .clone()
            .unwrap_or_else(|| Connections::path_for(std::path::Path::new(".")));
        Ok(Connections::load(&path)?)
    }
}

/// The outcome of a connection test.
#[derive(Debug, Serialize)]
struct TestOutcome {
    connection: String,
    ok: bool,
    /// The error category when it failed (`auth`, `permissions`...).
    category: Option<&'static str>,
    status: Option<u16>,
    message: String,
    hint: Option<String>,
    duration_ms: u64,
}

/// List or test connections.
pub fn connection(_sluice: &Sluice, args: &ConnectionArgs) -> anyhow::Result<Exit> {
    match &args.command {
        ConnectionCommand::List { file, format } => {
            let connections = file.load()?;
            if format.json {
                print_json(&connections.profiles)?;
                return Ok(Exit::Success);
            }
            let mut t = table(&["NAME", "BASE URL", "AUTH", "RATE", "CAPTURE HTTP"], &[]);
            for (name, p) in &connections.profiles {
                t.add_row(vec![
                    name.clone(),
                    p.base_url.clone(),
                    auth_kind(&p.auth).to_owned(),
                    p.requests_per_second
                        .map_or("-".into(), |r| format!("{r}/s")),
                    if p.capture_http { "yes" } else { "no" }.to_owned(),
                ]);
            }
            outln!("{}", connections.path.display());
            outln!("{t}");
            Ok(Exit::Success)
        }
        ConnectionCommand::Test { name, file, format } => {
            let connections = file.load()?;
            let outcome = test(&connections, name);
            if format.json {
                print_json(&outcome)?;
            } else {
                let mark = if outcome.ok { "OK" } else { "FAILED" };
                outln!("Connection `{name}`: {mark} — {}", outcome.message);
                if let Some(hint) = &outcome.hint {
                    outln!("  fix: {hint}");
                }
            }
            Ok(if outcome.ok {
                Exit::Success
            } else {
                Exit::Failure
            })
        }
    }
}

fn auth_kind(auth: &AuthConfig) -> &'static str {
    match auth {
        AuthConfig::None => "none",
        AuthConfig::Bearer { .. } => "bearer",
        AuthConfig::ApiKey { .. } => "api-key",
        AuthConfig::Basic { .. } => "basic",
        AuthConfig::Oauth2ClientCredentials { .. } => "oauth2-client-credentials",
        AuthConfig::Oauth2RefreshToken { .. } => "oauth2-refresh-token",
    }
}

fn test(connections: &Connections, name: &str) -> TestOutcome {
    let file = connections.path.display().to_string();
    let started = Instant::now();
    let failed = |category, status, message: String, hint: String| TestOutcome {
        connection: name.to_owned(),
        ok: false,
        category: Some(category),
        status,
        message,
        hint: Some(hint),
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let connection = match Connection::open(connections, name, false) {
        Ok(c) => c,
        Err(e) => {
            return failed(
                "config",
                None,
                e.to_string(),
                format!(
                    "fix connection `{name}` in {file} (secrets come from the environment or files, see ${CONNECTIONS_ENV})"
                ),
            );
        }
    };
    let check = connections.profiles[name].check.clone();
    let (method, path) = match &check {
        Some(c) => (
            c.method.as_deref().unwrap_or("GET").to_ascii_uppercase(),
            c.path.clone(),
        ),
        None => ("GET".to_owned(), connection.base_url().to_string()),
    };
    let method = match method.as_str() {
        "POST" => Method::Post,
        "HEAD" => Method::Head,
        _ => Method::Get,
    };
    let request = Request {
        method,
        url: path.clone(),
        headers: vec![("accept".into(), "application/json".into())],
        body: None,
    };
    let response = match connection.send(request) {
        Ok(r) => r,
        Err(HttpError::Denied(m)) => {
            return failed(
                "config",
                None,
                m,
                format!(
                    "add the URL to `allow` of connection `{name}` in {file}, or fix `check.path`"
                ),
            );
        }
        Err(HttpError::Timeout) => {
            return failed(
                "connectivity",
                None,
                format!("{path} did not answer in time"),
                format!(
                    "check that the remote system is up, or raise `timeout_ms` of connection `{name}`"
                ),
            );
        }
        Err(HttpError::Connect(m)) => {
            return failed(
                "connectivity",
                None,
                format!("cannot reach {}: {m}", connection.base_url()),
                format!("check `base_url` of connection `{name}` in {file} and the network"),
            );
        }
        Err(other) => {
            return failed(
                "connectivity",
                None,
                other.describe(),
                format!("check connection `{name}` in {file}"),
            );
        }
    };
    let body = String::from_utf8_lossy(&response.body);
    let remote_category = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("category")
                .or_else(|| v.get("errorType"))
                .and_then(|c| c.as_str())
                .map(str::to_owned)
        });
    let detail = |what: &str| match &remote_category {
        Some(c) => format!("{what} ({c})"),
        None => what.to_owned(),
    };
    let status = Some(response.status);
    match response.status {
        200..=299 => TestOutcome {
            connection: name.to_owned(),
            ok: true,
            category: None,
            status,
            message: format!(
                "reached {} and authenticated: HTTP {} in {} ms",
                connection.base_url(),
                response.status,
                started.elapsed().as_millis()
            ),
            hint: None,
            duration_ms: started.elapsed().as_millis() as u64,
        },
        401 => failed(
            "auth",
            status,
            detail("the credentials were refused"),
            format!(
                "update the credentials of connection `{name}` (in {file} and the secrets it names), then test again"
            ),
        ),
        403 => failed(
            "permissions",
            status,
            detail("authenticated, but the account may not do this"),
            "grant the missing scope or role to the connected account in the remote system"
                .to_owned(),
        ),
        402 => failed(
            "plan-quota",
            status,
            detail("the remote account's plan or quota refuses the request"),
            "raise the plan or quota of the remote account".to_owned(),
        ),
        404 => failed(
            "config",
            status,
            format!("{path} does not exist on the remote system"),
            format!("fix `base_url` or `check.path` of connection `{name}`"),
        ),
        429 => failed(
            "transient",
            status,
            detail("reachable and authenticated, but rate limited right now"),
            format!("lower `requests_per_second` of connection `{name}`, or try again later"),
        ),
        code => failed(
            if code >= 500 { "transient" } else { "config" },
            status,
            format!("the remote system answered HTTP {code}"),
            "check the remote system's status page, then test again".to_owned(),
        ),
    }
}
