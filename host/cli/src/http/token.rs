//! The API token: required on every request that changes anything.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

/// Environment variable holding the token (wins over every file).
pub const TOKEN_ENV: &str = "SLUICE_API_TOKEN";

/// The generated token's file in the data directory.
pub const TOKEN_FILE: &str = "daemon.token";

/// Shortest token accepted from a file or the environment.
const MIN_TOKEN_LEN: usize = 16;

/// The token: `$SLUICE_API_TOKEN`, else the project's `token_file`, else
/// `<data_dir>/daemon.token`, created with a random token (mode 0600) if
/// missing. Returns it and where it came from.
pub fn load_or_create(
    token_file: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<(String, String)> {
    if let Ok(t) = std::env::var(TOKEN_ENV) {
        return Ok((check(t.trim(), TOKEN_ENV)?, format!("${TOKEN_ENV}")));
    }
    if let Some(file) = token_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the API token file {}", file.display()))?;
        let shown = file.display().to_string();
        return Ok((check(text.trim(), &shown)?, shown));
    }
    let file = data_dir.join(TOKEN_FILE);
    if let Ok(text) = std::fs::read_to_string(&file) {
        let shown = file.display().to_string();
        return Ok((check(text.trim(), &shown)?, shown));
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no randomness for the API token: {e}"))?;
    let token = hex::encode(bytes);
    write_private(&file, &token)?;
    Ok((token, file.display().to_string()))
}

/// The token a client should send: the same sources, never created.
pub fn find(token_file: Option<&Path>, data_dir: &Path) -> anyhow::Result<String> {
    if let Ok(t) = std::env::var(TOKEN_ENV) {
        return Ok(t.trim().to_owned());
    }
    let file: PathBuf = token_file.map_or_else(|| data_dir.join(TOKEN_FILE), Path::to_owned);
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "cannot read the API token from {} (or set ${TOKEN_ENV})",
            file.display()
        )
    })?;
    Ok(text.trim().to_owned())
}

fn check(token: &str, from: &str) -> anyhow::Result<String> {
    if token.len() < MIN_TOKEN_LEN || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        anyhow::bail!(
            "the API token from {from} must be at least {MIN_TOKEN_LEN} characters, without spaces"
        );
    }
    Ok(token.to_owned())
}

fn write_private(path: &Path, token: &str) -> anyhow::Result<()> {
    sluice::private_file::write_atomically(path, &[token.as_bytes()])
        .with_context(|| format!("cannot create the API token file {}", path.display()))
}

/// Whether `presented` is `expected`, in time that does not depend on
/// where they differ.
pub fn matches(expected: &str, presented: &str) -> bool {
    let a = Sha256::digest(expected.as_bytes());
    let b = Sha256::digest(presented.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(matches("0123456789abcdef", "0123456789abcdef"));
        assert!(!matches("0123456789abcdef", "0123456789abcdeF"));
        assert!(!matches("0123456789abcdef", ""));
    }

    #[test]
    fn a_generated_token_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (t1, from) = load_or_create(None, dir.path()).unwrap();
        assert_eq!(t1.len(), 64);
        assert!(from.ends_with(TOKEN_FILE));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (t2, _) = load_or_create(None, dir.path()).unwrap();
        assert_eq!(t1, t2);
        assert_eq!(find(None, dir.path()).unwrap(), t1);
    }

    #[test]
    fn a_short_token_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t");
        std::fs::write(&file, "short\n").unwrap();
        let e = load_or_create(Some(&file), dir.path()).unwrap_err();
        assert!(e.to_string().contains("at least 16"), "{e}");
    }
}
