//! URL allow-lists: a connector reaches only URLs whose scheme, host and
//! port match an allowed prefix exactly and whose path starts with it.

use url::Url;

/// One allowed URL prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    scheme: String,
    host: String,
    port: u16,
    path_prefix: String,
}

impl AllowRule {
    /// Parse `https://api.example.com/crm/` (a path prefix is optional).
    pub fn parse(prefix: &str) -> Result<AllowRule, String> {
        let url =
            Url::parse(prefix).map_err(|e| format!("allow entry `{prefix}` is not a URL: {e}"))?;
        AllowRule::from_url(&url).ok_or_else(|| {
            format!("allow entry `{prefix}` must be an http or https URL with a host")
        })
    }

    /// The rule allowing `url` and everything under its path.
    pub fn from_url(url: &Url) -> Option<AllowRule> {
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        Some(AllowRule {
            scheme: url.scheme().to_owned(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
            path_prefix: url.path().to_owned(),
        })
    }

    /// Whether `url` is allowed by this rule.
    pub fn allows(&self, url: &Url) -> bool {
        url.scheme() == self.scheme
            && url.host_str().map(str::to_ascii_lowercase).as_deref() == Some(&self.host)
            && url.port_or_known_default() == Some(self.port)
            && url.username().is_empty()
            && url.password().is_none()
            && path_within(url.path(), &self.path_prefix)
    }
}

impl std::fmt::Display for AllowRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            self.scheme, self.host, self.port, self.path_prefix
        )
    }
}

/// Whether `path` is `prefix` or lies under it. `/crm` allows `/crm/x` but
/// not `/crmx`; `..` segments are resolved by the URL parser beforehand.
fn path_within(path: &str, prefix: &str) -> bool {
    if prefix.is_empty() || prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(rule: &str, url: &str) -> bool {
        AllowRule::parse(rule)
            .unwrap()
            .allows(&Url::parse(url).unwrap())
    }

    #[test]
    fn scheme_host_port_and_path_prefix_must_match() {
        let rule = "https://api.example.com/crm/v3/";
        assert!(allows(
            rule,
            "https://api.example.com/crm/v3/objects?limit=1"
        ));
        assert!(allows(rule, "https://API.example.com:443/crm/v3/x"));
        assert!(!allows(rule, "http://api.example.com/crm/v3/x"), "scheme");
        assert!(
            !allows(rule, "https://api.example.com:8443/crm/v3/x"),
            "port"
        );
        assert!(!allows(rule, "https://evil.example.com/crm/v3/x"), "host");
        assert!(
            !allows(rule, "https://api.example.com.evil.io/crm/v3/x"),
            "suffix host"
        );
        assert!(!allows(rule, "https://api.example.com/admin"), "path");
        assert!(
            !allows(rule, "https://api.example.com/crm/v3/../../admin"),
            "dot segments"
        );
        assert!(
            !allows(rule, "https://user:pw@api.example.com/crm/v3/x"),
            "userinfo"
        );
        assert!(!allows(
            "https://api.example.com/crm",
            "https://api.example.com/crmx"
        ));
        assert!(allows(
            "https://api.example.com/crm",
            "https://api.example.com/crm/x"
        ));
        assert!(allows(
            "http://127.0.0.1:8089",
            "http://127.0.0.1:8089/anything"
        ));
    }
}
