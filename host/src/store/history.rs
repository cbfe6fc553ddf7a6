//! Which version a rollback goes back to, from the history of a name.

use crate::runlog::StoreHistoryRow;

/// The version current before `current`: the history replayed as a stack
/// (a promotion pushes, a rollback pops), then the entry under the top,
/// skipping versions `quarantined` says may not go live.
pub fn previous(
    history: &[StoreHistoryRow],
    current: &str,
    quarantined: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let mut stack: Vec<&str> = Vec::new();
    for row in history {
        if row.action == "promote" {
            stack.push(&row.digest);
        } else {
            stack.pop();
            // A rollback's target is the new top; a stack cut short by a
            // history the stack cannot explain gets it back.
            if stack.last() != Some(&row.digest.as_str()) {
                stack.push(&row.digest);
            }
        }
    }
    if stack.last() == Some(&current) {
        stack.pop();
    }
    while let Some(top) = stack.pop() {
        if top != current && !quarantined(top) {
            return Some(top.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(action: &str, digest: &str) -> StoreHistoryRow {
        StoreHistoryRow {
            id: 0,
            action: action.into(),
            digest: digest.into(),
            previous: None,
            actor: "me".into(),
            reason: None,
            at: String::new(),
        }
    }

    #[test]
    fn rollbacks_walk_back_through_promotions() {
        let never = |_: &str| false;
        let mut h = vec![
            row("promote", "a"),
            row("promote", "b"),
            row("promote", "c"),
        ];
        assert_eq!(previous(&h, "c", &never).as_deref(), Some("b"));
        h.push(row("rollback", "b"));
        assert_eq!(previous(&h, "b", &never).as_deref(), Some("a"));
        h.push(row("rollback", "a"));
        assert_eq!(previous(&h, "a", &never), None);
        // Promoting an older version again: a rollback returns to the one
        // current just before.
        let h = vec![
            row("promote", "a"),
            row("promote", "b"),
            row("promote", "a"),
        ];
        assert_eq!(previous(&h, "a", &never).as_deref(), Some("b"));
        // Quarantined versions are skipped.
        let h = vec![
            row("promote", "a"),
            row("promote", "b"),
            row("promote", "c"),
        ];
        assert_eq!(previous(&h, "c", &|d| d == "b").as_deref(), Some("a"));
    }
}
