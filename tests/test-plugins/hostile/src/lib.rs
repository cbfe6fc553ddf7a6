//! A field transformer that misbehaves on purpose, for the host's
//! hostile-plugin tests.
//!
//! Options:
//!
//! - `behaviour` (required), one of:
//!   - `loop`: loop forever;
//!   - `alloc`: allocate (and touch) memory without bound until allocation
//!     fails, which aborts with a trap;
//!   - `trap`: execute the wasm `unreachable` instruction;
//!   - `panic`: panic (a trap, since wasm panics abort);
//!   - `wrong-length`: return one result fewer than there are values;
//!   - `big-output`: return a 16 MiB text;
//!   - `log-flood`: call `log` 100,000 times;
//!   - `recurse`: recurse without bound (not a tail call, with a 1 KiB
//!     buffer on the stack in every frame) until the stack overflows;
//!   - `slow`: busy-wait `slow_ms` milliseconds, then pass the value
//!     through;
//!   - `burn`: legitimate CPU work: for each value, `burn_iterations`
//!     iterations of arithmetic, then pass the value through. The fuel a
//!     call needs grows with the number of values in its batch.
//! - `slow_ms` (default 50): how long `slow` waits.
//! - `burn_iterations` (default 100000): how many iterations `burn` does
//!   per value.
//! - `trigger` (optional text): when set, misbehave only on values equal to
//!   it (text equal to `trigger`); other values pass through unchanged. For
//!   `wrong-length`, a call whose batch contains the trigger value returns
//!   one result too few. When unset, every call misbehaves: once at its
//!   start, or for `big-output` by replacing the first value's result, or
//!   for `wrong-length` by dropping the last result, or for `burn` once
//!   per value. `big-output`, `slow` and `burn` with a trigger misbehave
//!   once per matching value.
//!
//! Values pass through unchanged unless misbehaviour replaces them.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde::Deserialize;
use sluice_sdk::{FieldTransformer, Options, PluginError, Value};

/// The size of the `big-output` text.
const BIG_OUTPUT_BYTES: usize = 16 * 1024 * 1024;

/// How many lines `log-flood` logs.
const LOG_FLOOD_LINES: u32 = 100_000;

/// The size of the buffer every `recurse` frame keeps on the stack.
const RECURSE_FRAME_BYTES: usize = 1024;

/// The misbehaving plugin.
#[derive(Debug)]
pub struct Hostile {
    behaviour: Behaviour,
    slow: Duration,
    burn_iterations: u64,
    trigger: Option<String>,
}

/// What to do wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Behaviour {
    Loop,
    Alloc,
    Trap,
    Panic,
    WrongLength,
    BigOutput,
    LogFlood,
    Recurse,
    Slow,
    Burn,
}

/// The plugin's options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostileOptions {
    behaviour: Behaviour,
    #[serde(default = "default_slow_ms")]
    slow_ms: u64,
    #[serde(default = "default_burn_iterations")]
    burn_iterations: u64,
    trigger: Option<String>,
}

fn default_slow_ms() -> u64 {
    50
}

fn default_burn_iterations() -> u64 {
    100_000
}

impl FieldTransformer for Hostile {
    type Options = sluice_sdk::serde_json::Value;

    fn configure(options: Options) -> Result<Self, PluginError> {
        let options: HostileOptions = options.parse()?;
        Ok(Hostile {
            behaviour: options.behaviour,
            slow: Duration::from_millis(options.slow_ms),
            burn_iterations: options.burn_iterations,
            trigger: options.trigger,
        })
    }

    fn transform(&self, value: Value) -> Result<Value, PluginError> {
        self.transform_batch(vec![value])
            .pop()
            .unwrap_or(Ok(Value::Null))
    }

    fn transform_batch(&self, values: Vec<Value>) -> Vec<Result<Value, PluginError>> {
        match &self.trigger {
            None => self.misbehave_every_call(values),
            Some(trigger) => self.misbehave_on(trigger, values),
        }
    }
}

impl Hostile {
    /// No trigger: every call misbehaves.
    fn misbehave_every_call(&self, values: Vec<Value>) -> Vec<Result<Value, PluginError>> {
        if self.behaviour == Behaviour::Burn {
            return values
                .into_iter()
                .map(|value| {
                    self.misbehave(Behaviour::Burn);
                    Ok(value)
                })
                .collect();
        }
        let mut results: Vec<_> = values.into_iter().map(Ok).collect();
        match self.behaviour {
            Behaviour::WrongLength => {
                results.pop();
            }
            Behaviour::BigOutput => {
                if let Some(first) = results.first_mut() {
                    *first = Ok(big_output());
                }
            }
            behaviour => self.misbehave(behaviour),
        }
        results
    }

    /// A trigger: only values equal to it cause misbehaviour.
    fn misbehave_on(&self, trigger: &str, values: Vec<Value>) -> Vec<Result<Value, PluginError>> {
        let is_trigger = |value: &Value| value.as_text() == Some(trigger);
        if self.behaviour == Behaviour::WrongLength {
            let hit = values.iter().any(is_trigger);
            let mut results: Vec<_> = values.into_iter().map(Ok).collect();
            if hit {
                results.pop();
            }
            return results;
        }
        values
            .into_iter()
            .map(|value| {
                if !is_trigger(&value) {
                    return Ok(value);
                }
                if self.behaviour == Behaviour::BigOutput {
                    return Ok(big_output());
                }
                self.misbehave(self.behaviour);
                Ok(value)
            })
            .collect()
    }

    /// Misbehaviours that happen while processing, rather than in the
    /// results. Only `slow`, `burn` and `log-flood` return.
    fn misbehave(&self, behaviour: Behaviour) {
        match behaviour {
            Behaviour::Loop => spin_forever(),
            Behaviour::Alloc => allocate_forever(),
            Behaviour::Trap => trap(),
            Behaviour::Panic => panic!("sluice-test-plugins: panicking on purpose"),
            Behaviour::Recurse => {
                black_box(recurse(black_box(0)));
            }
            Behaviour::LogFlood => {
                for n in 0..LOG_FLOOD_LINES {
                    sluice_sdk::log::info(&format!("log flood line {n}"));
                }
            }
            Behaviour::Slow => busy_wait(self.slow),
            Behaviour::Burn => {
                black_box(burn(self.burn_iterations));
            }
            Behaviour::WrongLength | Behaviour::BigOutput => {}
        }
    }
}

/// A 16 MiB text.
fn big_output() -> Value {
    Value::Text("x".repeat(BIG_OUTPUT_BYTES))
}

/// Loops forever without yielding.
fn spin_forever() -> ! {
    let mut counter: u64 = 0;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

/// Allocates 1 MiB blocks, writing to each, until allocation fails.
fn allocate_forever() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 1024 * 1024];
        block[black_box(blocks.len()) % 1024] = 1;
        blocks.push(black_box(block));
        black_box(&blocks);
    }
}

/// Executes `unreachable`.
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

/// Recurses until the stack overflows. Every frame holds a buffer whose
/// address escapes through `black_box`, so it lives in memory (the shadow
/// stack), and does work after the call, so the recursion can be neither
/// inlined nor turned into a loop. The end condition can never be met; it
/// only keeps the compiler from proving the function diverges.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; RECURSE_FRAME_BYTES];
    frame[(depth as usize) % RECURSE_FRAME_BYTES] = depth as u8;
    black_box(&mut frame);
    if black_box(depth) == u64::MAX {
        return u64::from(frame[0]);
    }
    let below = recurse(black_box(depth + 1));
    black_box(&mut frame);
    below.wrapping_add(u64::from(frame[(depth as usize) % RECURSE_FRAME_BYTES]))
}

/// `iterations` rounds of integer arithmetic, each through `black_box` so
/// none can be folded away. Returns the result so it is used.
fn burn(iterations: u64) -> u64 {
    let mut acc: u64 = black_box(0x9e37_79b9_7f4a_7c15);
    for i in 0..black_box(iterations) {
        acc = black_box(acc.rotate_left(5) ^ i).wrapping_mul(0x0100_0000_01b3);
        acc = acc.wrapping_add(black_box(i) >> 3);
    }
    acc
}

/// Spins for `duration` without sleeping.
fn busy_wait(duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        black_box(());
    }
}

sluice_sdk::export_field_transformer!(Hostile);

#[cfg(test)]
mod tests {
    use super::*;

    fn configure(options: &str) -> Result<Hostile, PluginError> {
        Hostile::configure(Options::from_json(options).unwrap())
    }

    fn texts(values: &[&str]) -> Vec<Value> {
        values.iter().map(|text| Value::from(*text)).collect()
    }

    #[test]
    fn wrong_length_drops_a_result() {
        let plugin = configure(r#"{"behaviour": "wrong-length"}"#).unwrap();
        assert_eq!(plugin.transform_batch(texts(&["a", "b"])).len(), 1);

        let plugin = configure(r#"{"behaviour": "wrong-length", "trigger": "b"}"#).unwrap();
        assert_eq!(plugin.transform_batch(texts(&["a", "c"])).len(), 2);
        assert_eq!(plugin.transform_batch(texts(&["a", "b", "c"])).len(), 2);
    }

    #[test]
    fn big_output_replaces_the_triggering_value() {
        let plugin = configure(r#"{"behaviour": "big-output", "trigger": "big"}"#).unwrap();
        let results = plugin.transform_batch(texts(&["a", "big"]));
        assert_eq!(results[0], Ok(Value::from("a")));
        assert_eq!(
            results[1].as_ref().unwrap().as_text().unwrap().len(),
            BIG_OUTPUT_BYTES
        );

        let plugin = configure(r#"{"behaviour": "big-output"}"#).unwrap();
        let results = plugin.transform_batch(texts(&["a", "b"]));
        assert_eq!(
            results[0].as_ref().unwrap().as_text().unwrap().len(),
            BIG_OUTPUT_BYTES
        );
        assert_eq!(results[1], Ok(Value::from("b")));
    }

    #[test]
    fn slow_waits_then_passes_through() {
        let plugin = configure(r#"{"behaviour": "slow", "slow_ms": 20}"#).unwrap();
        let start = Instant::now();
        assert_eq!(
            plugin.transform_batch(texts(&["a"])),
            vec![Ok(Value::from("a"))]
        );
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn burn_works_then_passes_through() {
        let plugin = configure(r#"{"behaviour": "burn", "burn_iterations": 1000}"#).unwrap();
        assert_eq!(plugin.burn_iterations, 1000);
        let values = texts(&["a", "b", "c"]);
        assert_eq!(
            plugin.transform_batch(values.clone()),
            values.into_iter().map(Ok).collect::<Vec<_>>()
        );

        let plugin = configure(r#"{"behaviour": "burn"}"#).unwrap();
        assert_eq!(plugin.burn_iterations, 100_000);
        assert_eq!(burn(0), 0x9e37_79b9_7f4a_7c15);
        assert_ne!(burn(10), burn(11));
    }

    #[test]
    fn misbehaviour_waits_for_its_trigger() {
        for behaviour in [
            "loop",
            "alloc",
            "trap",
            "panic",
            "recurse",
            "log-flood",
            "slow",
            "burn",
        ] {
            let options = format!(r#"{{"behaviour": "{behaviour}", "trigger": "boom"}}"#);
            let plugin = configure(&options).unwrap();
            let values = vec![Value::from("a"), Value::Null, Value::Integer(3)];
            assert_eq!(
                plugin.transform_batch(values.clone()),
                values.into_iter().map(Ok).collect::<Vec<_>>(),
                "{behaviour}"
            );
        }
    }

    #[test]
    fn rejects_bad_options() {
        for options in [
            r#"{}"#,
            r#"{"behaviour": "explode"}"#,
            r#"{"behaviour": "slow", "slow": 5}"#,
        ] {
            let error = configure(options).unwrap_err();
            assert_eq!(
                error.category,
                sluice_sdk::ErrorCategory::Config,
                "{options}"
            );
        }
    }
}
