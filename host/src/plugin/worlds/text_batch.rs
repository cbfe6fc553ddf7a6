//! The text fast path of field transformers (`transform-text`, 0.2.0): a
//! batch whose values are all text crosses the boundary as one string and
//! its end offsets, and the answer comes back the same way, instead of one
//! lowered and lifted string per value. The answer is hostile input:
//! [`TextResults::check`] checks every offset and index before a byte of it
//! is used. A chain of transformers passes the checked answer of one step
//! on as the next step's batch, without a string per value in between.

use super::result_size;
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

/// Appends `text` to `batch` as its next value; `false` (and `batch`
/// unchanged) when the batch's text would pass `u32` offsets.
pub fn push_text(batch: &mut TextBatch, text: &str) -> bool {
    match u32::try_from(batch.text.len() + text.len()) {
        Ok(end) => {
            batch.text.push_str(text);
            batch.ends.push(end);
            true
        }
        Err(_) => false,
    }
}

/// The texts of a batch, in order.
pub fn texts(batch: &TextBatch) -> impl Iterator<Item = &str> + '_ {
    let mut start = 0usize;
    batch.ends.iter().map(move |&end| {
        let span = &batch.text[start..end as usize];
        start = end as usize;
        span
    })
}

/// Each text of a batch as a value of its own.
pub fn text_values(batch: &TextBatch) -> Vec<Value> {
    texts(batch).map(|t| Value::Text(t.to_owned())).collect()
}

/// The batch's values from `at` on, split off `batch`.
pub fn split_off(batch: &mut TextBatch, at: usize) -> TextBatch {
    let cut = match at {
        0 => 0,
        _ => batch.ends[at - 1],
    };
    let text = batch.text.split_off(cut as usize);
    let ends = batch
        .ends
        .split_off(at)
        .into_iter()
        .map(|e| e - cut)
        .collect();
    TextBatch { text, ends }
}

/// Bytes an answer occupies, counted as `transform`'s answer would be: the
/// text results' bytes and each other result's size.
pub(crate) fn answer_size(answer: &TextAnswer) -> u64 {
    answer.text.len() as u64
        + answer
            .others
            .iter()
            .map(|(_, r)| result_size(r))
            .sum::<u64>()
}

/// A transformer's answer for a packed batch, checked: one result per
/// input, in order, each either a span of one text or one of the other
/// results (errors, values that are not text).
#[derive(Debug)]
pub struct TextResults {
    text: String,
    /// One end offset per result, not decreasing, each on a character
    /// boundary, the last at the text's end.
    ends: Vec<u32>,
    /// `(index, result)` in increasing index order, each below the number
    /// of results, for results whose span is empty.
    others: Vec<(u32, Result<Value, PluginError>)>,
}

/// One result of [`TextResults`].
#[derive(Debug)]
pub enum TextResult<'a> {
    /// Text, borrowed from the answer.
    Text(&'a str),
    /// Anything else, as `transform` answers it.
    Other(Result<Value, PluginError>),
}

impl TextResults {
    /// The answer to `sent` inputs as checked results, or what is wrong
    /// with it (a contract violation: the batch fails).
    pub(crate) fn check(sent: usize, answer: TextAnswer) -> Result<TextResults, String> {
        let TextAnswer { text, ends, others } = answer;
        if ends.len() != sent {
            return Err(format!(
                "{} end offset(s) for {sent} input(s); the contract requires exactly one per input, in order",
                ends.len()
            ));
        }
        let mut start = 0usize;
        let mut next_other = others.iter().map(|(i, _)| *i as usize).peekable();
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
            if next_other.next_if_eq(&index).is_some() && end != start {
                return Err(format!(
                    "result {index} is given both as text and in `others`"
                ));
            }
            start = end;
        }
        if start != text.len() {
            return Err(format!(
                "{} byte(s) of text after the last end offset",
                text.len() - start
            ));
        }
        if let Some(index) = next_other.next() {
            return Err(format!(
                "`others` index {index} is out of order, repeated, or not below the {sent} input(s)"
            ));
        }
        Ok(TextResults { text, ends, others })
    }

    /// `transform`'s results packed: text values as spans (but for a text
    /// that would pass `u32` offsets, kept as it is), any other result as
    /// it is.
    pub fn from_values(results: Vec<Result<Value, PluginError>>) -> TextResults {
        let mut packed = TextBatch {
            text: String::new(),
            ends: Vec::with_capacity(results.len()),
        };
        let mut others = Vec::new();
        for (index, result) in results.into_iter().enumerate() {
            if let Ok(Value::Text(text)) = &result
                && push_text(&mut packed, text)
            {
                continue;
            }
            // Cannot truncate: the text is shorter than `u32::MAX` bytes,
            // and so is the number of results.
            packed.ends.push(packed.text.len() as u32);
            others.push((index as u32, result));
        }
        TextResults {
            text: packed.text,
            ends: packed.ends,
            others,
        }
    }

    /// The number of results.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The number of results that are errors.
    pub fn errors(&self) -> usize {
        self.others.iter().filter(|(_, r)| r.is_err()).count()
    }

    /// Whether there are no results.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Every result as text, as a batch for the next transformer (no copy),
    /// or the results as they are when one of them is something else.
    pub fn into_batch(self) -> Result<TextBatch, TextResults> {
        if self.others.is_empty() {
            Ok(TextBatch {
                text: self.text,
                ends: self.ends,
            })
        } else {
            Err(self)
        }
    }

    /// The results in order: texts borrowed, the others moved out.
    pub fn results(&mut self) -> impl Iterator<Item = TextResult<'_>> + '_ {
        let mut others = std::mem::take(&mut self.others).into_iter().peekable();
        let text = self.text.as_str();
        let mut start = 0usize;
        self.ends.iter().enumerate().map(move |(index, &end)| {
            // Checked: offsets on character boundaries, not decreasing.
            let span = &text[start..end as usize];
            start = end as usize;
            match others.next_if(|(i, _)| *i as usize == index) {
                Some((_, result)) => TextResult::Other(result),
                None => TextResult::Text(span),
            }
        })
    }

    /// One result per input, in order, as `transform` answers.
    pub fn into_values(mut self) -> Vec<Result<Value, PluginError>> {
        self.results()
            .map(|result| match result {
                TextResult::Text(text) => Ok(Value::Text(text.to_owned())),
                TextResult::Other(result) => result,
            })
            .collect()
    }
}

/// The answer as one result per input, in order, or what is wrong with it
/// (a contract violation: the batch fails).
#[cfg(test)]
fn unpack(sent: usize, answer: TextAnswer) -> Result<Vec<Result<Value, PluginError>>, String> {
    TextResults::check(sent, answer).map(TextResults::into_values)
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

    /// Packing `transform`'s results and reading them back gives them
    /// unchanged; an all-text answer becomes the next batch as it is.
    #[test]
    fn results_packed_from_values_read_back_unchanged() {
        let results: Vec<Result<Value, PluginError>> = vec![
            Ok(text("a")),
            Err(error("e")),
            Ok(text("")),
            Ok(Value::Null),
            Ok(text("é")),
        ];
        let expected = format!("{results:?}");
        let packed = TextResults::from_values(results);
        assert_eq!(packed.len(), 5);
        let packed = packed.into_batch().expect_err("not all text");
        assert_eq!(format!("{:?}", packed.into_values()), expected);
        let batch = TextResults::from_values(vec![Ok(text("ab")), Ok(text("é"))])
            .into_batch()
            .expect("all text");
        assert_eq!(
            (batch.text.as_str(), batch.ends.as_slice()),
            ("abé", &[2, 4][..])
        );
        assert_eq!(texts(&batch).collect::<Vec<_>>(), ["ab", "é"]);
    }

    #[test]
    fn a_batch_splits_into_its_two_halves() {
        for at in 0..=3 {
            let mut batch = pack(&[text("ab"), text(""), text("é")]).expect("all text");
            let before: Vec<String> = texts(&batch).map(str::to_owned).collect();
            let right = split_off(&mut batch, at);
            let left: Vec<&str> = texts(&batch).collect();
            let right: Vec<&str> = texts(&right).collect();
            assert_eq!(left, before[..at], "at {at}");
            assert_eq!(right, before[at..], "at {at}");
        }
        let mut batch = TextBatch {
            text: String::new(),
            ends: Vec::new(),
        };
        assert!(push_text(&mut batch, "xy") && push_text(&mut batch, ""));
        assert_eq!(batch.ends, [2, 2]);
    }
}
