//! A target that, for every batch, sends `GET` to each URL of its `urls`
//! option through the host's `http` import, for the host's allow-list
//! tests. Every record of the batch is created if all requests got a
//! response; otherwise each fails with the first refusal: a host denial is
//! `config` / `capability-denied` with the host's message, anything else
//! `connectivity` / `request-failed`.

use serde::Deserialize;
use sluice_sdk::http::{HttpError, Method, Request, send};
use sluice_sdk::{ErrorCategory, Options, Outgoing, PluginError, Target, WriteOutcome};

/// The plugin's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeOptions {
    urls: Vec<String>,
}

/// The `http-probe` test plugin.
#[derive(Debug)]
pub struct HttpProbe {
    urls: Vec<String>,
}

impl Target for HttpProbe {
    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: ProbeOptions = options.parse()?;
        Ok(HttpProbe { urls: options.urls })
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
                headers: Vec::new(),
                body: None,
            };
            if let Err(e) = send(&request) {
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
