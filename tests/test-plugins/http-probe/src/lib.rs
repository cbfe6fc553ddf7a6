//! A target that, for every batch, sends `GET` to each URL of its `urls`
//! option through the host's `http` import, for the host's allow-list
//! tests. Every record of the batch is created if all requests got a
//! response; otherwise each fails with the first refusal: a host denial is
//! `config` / `capability-denied` with the host's message, anything else
//! `connectivity` / `request-failed`.
//!
//! Options besides `urls`:
//!
//! - `headers` (default none): `[name, value]` pairs sent with every
//!   request, for the tests that check a connector cannot set credentials;
//! - `quote_response` (default false): fail every record with
//!   `validation` / `server-said` and a message quoting the body of the last
//!   response, as careless connectors do, for the redaction tests.

use serde::Deserialize;
use sluice_sdk::http::{HttpError, Method, Request, send};
use sluice_sdk::{ErrorCategory, Options, Outgoing, PluginError, Target, WriteOutcome};

/// The plugin's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeOptions {
    urls: Vec<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    quote_response: bool,
}

/// The `http-probe` test plugin.
#[derive(Debug)]
pub struct HttpProbe {
    urls: Vec<String>,
    headers: Vec<(String, String)>,
    quote_response: bool,
}

impl Target for HttpProbe {
    type Options = sluice_sdk::serde_json::Value;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: ProbeOptions = options.parse()?;
        Ok(HttpProbe {
            urls: options.urls,
            headers: options.headers,
            quote_response: options.quote_response,
        })
    }

    fn begin(&mut self, _entity: &str) -> Result<(), PluginError> {
        Ok(())
    }

    fn write(
        &mut self,
        _entity: &str,
        records: Vec<Outgoing>,
    ) -> Result<Vec<Result<WriteOutcome, PluginError>>, PluginError> {
        let mut refusal = None;
        for url in &self.urls {
            let request = Request {
                method: Method::Get,
                url: url.clone(),
                headers: self.headers.clone(),
                body: None,
            };
            match send(&request) {
                Ok(response) if self.quote_response => {
                    refusal.get_or_insert(PluginError::new(
                        ErrorCategory::Validation,
                        "server-said",
                        format!(
                            "the server answered {}: {}",
                            response.status,
                            String::from_utf8_lossy(&response.body)
                        ),
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    let error = match e {
                        HttpError::Denied(m) => {
                            PluginError::new(ErrorCategory::Config, "capability-denied", m)
                        }
                        other => PluginError::new(
                            ErrorCategory::Connectivity,
                            "request-failed",
                            format!("{other:?}"),
                        ),
                    };
                    refusal.get_or_insert(error);
                }
            }
        }
        Ok(records
            .iter()
            .map(|_| match &refusal {
                Some(e) => Err(e.clone()),
                None => Ok(WriteOutcome::Created(None)),
            })
            .collect())
    }

    fn commit(&mut self, _entity: &str) -> Result<(), PluginError> {
        Ok(())
    }
}

sluice_sdk::export_target!(HttpProbe);
