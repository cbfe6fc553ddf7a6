use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

/// Where a dead-letter entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DlqStatus {
    /// Waiting to be replayed, reviewed or discarded.
    Open,
    /// The record got through (loaded or skipped with a reason).
    Resolved,
    /// A person dropped it.
    Discarded,
}

impl DlqStatus {
    /// Every status.
    pub const ALL: [DlqStatus; 3] = [DlqStatus::Open, DlqStatus::Resolved, DlqStatus::Discarded];

    /// The name used in the run log.
    pub fn as_str(self) -> &'static str {
        match self {
            DlqStatus::Open => "open",
            DlqStatus::Resolved => "resolved",
            DlqStatus::Discarded => "discarded",
        }
    }
}

impl fmt::Display for DlqStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DlqStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DlqStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!("unknown dead-letter status `{s}`; expected open, resolved or discarded")
            })
    }
}

/// How a dead-letter entry left the queue. In the run log and in JSON it
/// is text: `loaded`, `skipped: <reason>` or `discarded: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// A later run or replay loaded the record.
    Loaded,
    /// A later run or replay skipped the record, for this reason.
    Skipped(String),
    /// A person discarded the entry, for this reason.
    Discarded(String),
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolution::Loaded => f.write_str("loaded"),
            Resolution::Skipped(reason) => write!(f, "skipped: {reason}"),
            Resolution::Discarded(reason) => write!(f, "discarded: {reason}"),
        }
    }
}

impl FromStr for Resolution {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "loaded" {
            return Ok(Resolution::Loaded);
        }
        match s.split_once(": ") {
            Some(("skipped", reason)) => Ok(Resolution::Skipped(reason.to_owned())),
            Some(("discarded", reason)) => Ok(Resolution::Discarded(reason.to_owned())),
            _ => Err(format!(
                "unknown dead-letter resolution `{s}`; expected `loaded`, `skipped: <reason>` or `discarded: <reason>`"
            )),
        }
    }
}

impl Serialize for Resolution {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_resolutions_round_trip_through_their_text() {
        for st in DlqStatus::ALL {
            assert_eq!(st.as_str().parse::<DlqStatus>(), Ok(st));
        }
        for r in [
            Resolution::Loaded,
            Resolution::Skipped("no email: x: y".into()),
            Resolution::Discarded("test records".into()),
        ] {
            assert_eq!(r.to_string().parse::<Resolution>(), Ok(r.clone()));
            assert_eq!(
                serde_json::to_value(&r).unwrap(),
                serde_json::Value::String(r.to_string())
            );
        }
        assert_eq!(
            "discarded: test records".parse(),
            Ok(Resolution::Discarded("test records".into()))
        );
        let err = "teleported".parse::<Resolution>().unwrap_err();
        assert!(err.contains("`teleported`"), "{err}");
        let err = "closed".parse::<DlqStatus>().unwrap_err();
        assert!(err.contains("`closed`") && err.contains("open"), "{err}");
    }
}
