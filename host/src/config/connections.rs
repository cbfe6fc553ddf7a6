//! Loading `connections.toml` (the profiles themselves are defined in
//! [`crate::connection`]), with the same precise error locations as
//! pipeline files.

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use super::load::{ConfigError, locate};
use crate::connection::{ConnectionProfile, Connections};

impl Connections {
    /// Load and check a connections file.
    pub fn load(path: &Path) -> Result<Connections, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let raw: BTreeMap<String, Spanned<ConnectionProfile>> =
            toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                location: locate(path, &text, e.span().map_or(0, |s| s.start)),
                message: e.message().trim().to_owned(),
            })?;
        let mut profiles = BTreeMap::new();
        for (name, spanned) in raw {
            let span = spanned.span();
            let profile = spanned.into_inner();
            profile.check().map_err(|message| ConfigError::Invalid {
                location: locate(path, &text, span.start),
                message: format!("connection `{name}`: {message}"),
            })?;
            profiles.insert(name, profile);
        }
        Ok(Connections {
            path: path.to_owned(),
            profiles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{AuthConfig, Secret};

    fn load(text: &str) -> Result<Connections, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connections.toml");
        std::fs::write(&path, text).unwrap();
        Connections::load(&path)
    }

    #[test]
    fn profiles_load_with_secret_sources() {
        let c = load(
            r#"
[crm]
base_url = "https://api.example.com/crm/"
requests_per_second = 5

[crm.auth]
kind = "oauth2-client-credentials"
token_url = "https://api.example.com/oauth/v1/token"
client_id = { env = "CRM_ID" }
client_secret = { file = "secrets/crm" }
"#,
        )
        .unwrap();
        let crm = &c.profiles["crm"];
        match &crm.auth {
            AuthConfig::Oauth2ClientCredentials {
                client_id,
                client_secret,
                ..
            } => {
                assert_eq!(client_id, &Secret::Env("CRM_ID".into()));
                assert_eq!(client_secret, &Secret::File("secrets/crm".into()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inline_secrets_are_refused_with_their_line() {
        let err = load(
            "[crm]\nbase_url = \"https://x.example\"\n\n[crm.auth]\nkind = \"bearer\"\ntoken = \"hunter2\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("never written inline"), "{err}");
        assert!(err.contains("connections.toml:"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn bad_base_url_and_allow_rules_are_named() {
        let err = load("[crm]\nbase_url = \"ftp://x.example\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("connection `crm`") && err.contains("http or https"),
            "{err}"
        );
        let err = load("[crm]\nbase_url = \"https://x.example\"\nallow = [\"nope\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope"), "{err}");
    }
}
