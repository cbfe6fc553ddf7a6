//! The text fast path of field transformers (`transform-text`, 0.2.0): a
//! batch whose values are all text crosses the boundary as one string and
//! its end offsets, and the answer comes back the same way, instead of one
//! lowered and lifted string per value. The answer is hostile input:
//! [`unpack`] checks every offset and index before a byte of it is used.

use super::{error_size, value_size};
use crate::bindings::v0_2_0::{TextAnswer, TextBatch};
use crate::bindings::{PluginError, Value};

/// The values packed as one text with end offsets, or `None` when one of
/// them is not text (or the texts are too long for `u32` offsets): such a
/// batch goes through `transform`.
pub(crate) fn pack(values: &[Value]) -> Option<TextBatch> {
    let mut total = 0usize;
    for value in values {
        match value {
            Value::Text(s) => total += s.len(),
            _ => return None,
        }
    }
    u32::try_from(total).ok()?;
    let mut text = String::with_capacity(total);
    let mut ends = Vec::with_capacity(values.len());
    for value in values {
        if let Value::Text(s) = value {
            text.push_str(s);
            // Cannot truncate: the total fits in a u32.
            ends.push(text.len() as u32);
        }
    }
    Some(TextBatch { text, ends })
}

/// Bytes an answer occupies, counted as `transform`'s answer would be: the
/// text results' bytes and each other result's size.
pub(crate) fn answer_size(answer: &TextAnswer) -> u64 {
    answer.text.len() as u64
        + answer
            .others
            .iter()
            .map(|(_, r)| match r {
                Ok(v) => value_size(v),
                Err(e) => error_size(e),
            })
            .sum::<u64>()
}

/// The answer as one result per input, in order, or what is wrong with it
/// (a contract violation: the batch fails).
pub(crate) fn unpack(
    sent: usize,
    answer: TextAnswer,
) -> Result<Vec<Result<Value, PluginError>>, String> {
    let TextAnswer { text, ends, others } = answer;
    if ends.len() != sent {
        return Err(format!(
            "{} end offset(s) for {sent} input(s); the contract requires exactly one per input, in order",
            ends.len()
        ));
    }
    let mut others = others.into_iter().peekable();
    let mut results = Vec::with_capacity(sent);
    let mut start = 0usize;
    for (index, &end) in ends.iter().enumerate() {
        let end = end as usize;
        if end < start || end > text.len() {
            return Err(format!(
                "end offset {end} of result {index} is outside {start}..={} (offsets must not decrease nor pass the text's end)",
                text.len()
            ));
        }
        if !text.is_char_boundary(end) {
            return Err(format!(
                "end offset {end} of result {index} falls inside a character"
            ));
        }
        let span = &text[start..end];
        start = end;
        match others.next_if(|(i, _)| *i as usize == index) {
            Some((_, result)) if span.is_empty() => results.push(result),
            Some(_) => {
                return Err(format!(
                    "result {index} is given both as text and in `others`"
                ));
            }
            None => results.push(Ok(Value::Text(span.to_owned()))),
        }
    }
    if start != text.len() {
        return Err(format!(
            "{} byte(s) of text after the last end offset",
            text.len() - start
        ));
    }
    if let Some((index, _)) = others.next() {
        return Err(format!(
            "`others` index {index} is out of order, repeated, or not below the {sent} input(s)"
        ));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::ErrorCategory;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn error(code: &str) -> PluginError {
        PluginError {
            category: ErrorCategory::Validation,
            code: code.into(),
            message: "bad".into(),
            field: None,
            retryable: false,
            retry_after_ms: None,
        }
    }

    fn answer(
        text: &str,
        ends: &[u32],
        others: Vec<(u32, Result<Value, PluginError>)>,
    ) -> TextAnswer {
        TextAnswer {
            text: text.into(),
            ends: ends.to_vec(),
            others,
        }
    }

    #[test]
    fn only_all_text_batches_are_packed() {
        let batch = pack(&[text("ab"), text(""), text("é")]).expect("all text");
        assert_eq!(batch.text, "abé");
        assert_eq!(batch.ends, [2, 2, 4]);
        assert!(pack(&[text("a"), Value::Null]).is_none());
        assert!(pack(&[Value::Decimal("1".into())]).is_none());
        let empty = pack(&[]).expect("an empty batch is all text");
        assert_eq!((empty.text.as_str(), empty.ends.len()), ("", 0));
    }

    #[test]
    fn an_answer_unpacks_in_input_order_with_its_other_results() {
        let got = unpack(
            4,
            answer(
                "xé",
                &[1, 1, 3, 3],
                vec![(1, Err(error("e1"))), (3, Ok(Value::Json("{}".into())))],
            ),
        )
        .expect("valid");
        let expected: Vec<Result<Value, PluginError>> = vec![
            Ok(text("x")),
            Err(error("e1")),
            Ok(text("é")),
            Ok(Value::Json("{}".into())),
        ];
        // The generated types have no `PartialEq`; `Debug` shows every field.
        assert_eq!(format!("{got:?}"), format!("{expected:?}"));
        assert_eq!(
            answer_size(&answer("xé", &[], vec![(0, Err(error("e")))])),
            3 + 4
        );
    }

    #[test]
    fn every_broken_rule_is_refused() {
        let broken = [
            ("count", answer("ab", &[2], vec![]), 2),
            ("past end", answer("ab", &[1, 3], vec![]), 2),
            ("decreasing", answer("ab", &[2, 1], vec![]), 2),
            ("inside a character", answer("é", &[1, 2], vec![]), 2),
            ("trailing text", answer("abc", &[1, 2], vec![]), 2),
            (
                "other with text",
                answer("ab", &[1, 2], vec![(1, Ok(Value::Null))]),
                2,
            ),
            (
                "index too high",
                answer("a", &[1], vec![(5, Ok(Value::Null))]),
                1,
            ),
            (
                "indices out of order",
                answer(
                    "",
                    &[0, 0],
                    vec![(1, Ok(Value::Null)), (0, Ok(Value::Null))],
                ),
                2,
            ),
            (
                "index repeated",
                answer(
                    "",
                    &[0, 0],
                    vec![(0, Ok(Value::Null)), (0, Ok(Value::Null))],
                ),
                2,
            ),
        ];
        for (what, answer, sent) in broken {
            assert!(unpack(sent, answer).is_err(), "{what} was accepted");
        }
    }
}
