use crate::plugin::PluginFailure;

/// Extra calls one batch may spend isolating the records that make a plugin
/// fail, before the rest of a failing sub-batch is failed as a whole.
pub const ISOLATION_BUDGET: u32 = 32;

/// Call `call` on `items`; when the whole call fails (trap, limit, wrong
/// answer length), split the batch in halves and retry each with a fresh
/// instance, down to single items, so that only the records that really
/// cause the failure fail. `budget` bounds the extra calls.
pub fn call_isolating<T, R>(
    items: &[T],
    budget: &mut u32,
    call: &mut impl FnMut(&[T]) -> Result<Vec<R>, PluginFailure>,
) -> Vec<Result<R, PluginFailure>> {
    if items.is_empty() {
        return Vec::new();
    }
    match call(items) {
        Ok(answers) => answers.into_iter().map(Ok).collect(),
        Err(failure) if items.len() == 1 || *budget == 0 || !failure.kind.is_isolatable() => {
            items.iter().map(|_| Err(failure.clone())).collect()
        }
        Err(_) => {
            *budget -= 1;
            let (left, right) = items.split_at(items.len() / 2);
            let mut out = call_isolating(left, budget, call);
            out.extend(call_isolating(right, budget, call));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::FailureKind;

    fn poisoned(items: &[i32]) -> Result<Vec<i32>, PluginFailure> {
        if items.contains(&7) {
            Err(PluginFailure::new(FailureKind::Trap, "boom"))
        } else {
            Ok(items.iter().map(|i| i * 10).collect())
        }
    }

    #[test]
    fn isolates_the_poison_record() {
        let items: Vec<i32> = (0..20).collect();
        let mut budget = ISOLATION_BUDGET;
        let out = call_isolating(&items, &mut budget, &mut poisoned);
        assert_eq!(out.len(), 20);
        for (i, r) in out.iter().enumerate() {
            if i == 7 {
                assert_eq!(r.as_ref().unwrap_err().kind, FailureKind::Trap);
            } else {
                assert_eq!(*r.as_ref().unwrap(), i as i32 * 10);
            }
        }
        assert!(budget < ISOLATION_BUDGET);
    }

    #[test]
    fn budget_bounds_the_calls() {
        let items: Vec<i32> = vec![7; 1000];
        let mut budget = 3;
        let mut calls = 0;
        let out = call_isolating(&items, &mut budget, &mut |b: &[i32]| {
            calls += 1;
            poisoned(b)
        });
        assert!(out.iter().all(Result::is_err));
        assert_eq!(budget, 0);
        assert!(calls <= 1 + 2 * 3, "{calls} calls");
    }
}
