// Write Sluice plugins in JavaScript or TypeScript (componentize-js 0.23,
// contract `sluice:plugin@0.2.0`). Types: sluice-sdk.d.ts.
//
// The contract's shapes (`{tag, val}` variants, results as thrown errors or
// `{tag: "ok" | "err"}` objects, s64 as BigInt) stay behind the same concepts
// as the Rust and Python SDKs:
//
// - a field transformer: `fieldTransformer({ name, version, description,
//   optionsSchema, create(options) { return (value) => newValue; } })`,
//   exported from the module as `transform`;
// - a normalizer: `normalizer({ ..., create(options) { return (record) =>
//   record or skip("reason"); } })`, exported as `normalize`;
// - errors are data: throw `validation(code, message)`, `config(message)`,
//   `mapping(code, message)` (or `new PluginError(...)`): the record fails
//   with that category and code and the run goes on. Any other exception
//   traps the component, which the host treats as a bug in the plugin;
// - `log(level, message)` writes to the host's log (the component has no
//   stdout or stderr: it is built with `-d stdio`).
//
// Values: null -> null, boolean -> boolean, integer (s64) -> bigint,
// float -> number, text -> string, json -> the parsed object or array,
// decimal -> Decimal, timestamp -> Timestamp. Returning them maps back the
// same way; a returned integral `number` stays a float.

import { log as hostLog } from "sluice:plugin/log@0.2.0";

/** The contract version this SDK targets. */
export const CONTRACT = "0.2.0";
/** The code of a `config` error made by `config(message)`. */
export const INVALID_OPTIONS = "invalid-options";

const CATEGORIES = new Set([
  "auth",
  "permissions",
  "plan-quota",
  "validation",
  "transient",
  "connectivity",
  "dependency-not-ready",
  "correlation",
  "mapping",
  "config",
]);
const LEVELS = new Set(["trace", "debug", "info", "warn", "error"]);
const S64_MIN = -(2n ** 63n);
const S64_MAX = 2n ** 63n - 1n;

/** An exact decimal number as canonical text (`"-12.50"`). */
export class Decimal {
  constructor(text) {
    this.text = String(text);
  }
  toString() {
    return this.text;
  }
  toJSON() {
    return this.text;
  }
}

/** An instant as RFC 3339 text with an explicit offset. */
export class Timestamp {
  constructor(text) {
    this.text = String(text);
  }
  toString() {
    return this.text;
  }
  toJSON() {
    return this.text;
  }
}

/** An error reported as data: a category, a stable code, a message. */
export class PluginError extends Error {
  constructor(category, code, message, { field, retryable = false, retryAfterMs } = {}) {
    super(message);
    if (!CATEGORIES.has(category)) {
      throw new TypeError(`unknown error category \`${category}\``);
    }
    this.name = "PluginError";
    this.category = category;
    this.code = String(code);
    this.field = field === undefined || field === null ? undefined : String(field);
    this.retryable = Boolean(retryable);
    this.retryAfterMs = retryAfterMs === undefined || retryAfterMs === null ? undefined : retryAfterMs >>> 0;
  }

  /** The contract's `plugin-error` record. */
  toWit() {
    return {
      category: this.category,
      code: this.code,
      message: this.message,
      field: this.field,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
    };
  }
}

/** A value is not acceptable (`validation("invalid-email", "...")`). */
export function validation(code, message, field) {
  return new PluginError("validation", code, message, { field });
}

/** The options are wrong; the run stops before reading a record. */
export function config(message, code = INVALID_OPTIONS) {
  return new PluginError("config", code, message);
}

/** A transform failed on this record. */
export function mapping(code, message, field) {
  return new PluginError("mapping", code, message, { field });
}

/** Log through the host: level is trace, debug, info, warn or error. */
export function log(level, message) {
  hostLog(LEVELS.has(level) ? level : "info", String(message));
}

/** A normalizer's answer for a record that should not be synced. */
export class Skip {
  constructor(reason) {
    this.reason = String(reason);
  }
}

/** `new Skip(reason)`. */
export function skip(reason) {
  return new Skip(reason);
}

/** True for structured data (a plain object or an array): the `json` kind. */
export function isJson(value) {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A contract value as a plain JavaScript value. */
export function fromValue(value) {
  switch (value.tag) {
    case "null":
      return null;
    case "json":
      return JSON.parse(value.val);
    case "decimal":
      return new Decimal(value.val);
    case "timestamp":
      return new Timestamp(value.val);
    default:
      // boolean, integer (bigint), float (number), text (string)
      return value.val;
  }
}

/** A plain JavaScript value as a contract value. */
export function toValue(value) {
  if (value === null || value === undefined) return { tag: "null" };
  switch (typeof value) {
    case "boolean":
      return { tag: "boolean", val: value };
    case "bigint":
      if (value < S64_MIN || value > S64_MAX) {
        throw mapping("integer-out-of-range", `${value} does not fit in 64 bits`);
      }
      return { tag: "integer", val: value };
    case "number":
      return { tag: "float", val: value };
    case "string":
      return { tag: "text", val: value };
    default:
      break;
  }
  if (value instanceof Decimal) return { tag: "decimal", val: value.text };
  if (value instanceof Timestamp) return { tag: "timestamp", val: value.text };
  if (isJson(value)) return { tag: "json", val: JSON.stringify(value) };
  throw mapping("unsupported-value", `a ${typeof value} has no contract value`);
}

function descriptor(plugin, world) {
  return {
    name: String(plugin.name),
    version: String(plugin.version ?? "0.1.0"),
    description: String(plugin.description ?? ""),
    world,
    optionsSchema: JSON.stringify(plugin.optionsSchema ?? { type: "object", additionalProperties: false }),
  };
}

// componentize-js turns an exception thrown by a function that returns
// `result<_, E>` into `err(payload)` when the exception has a `payload`.
class ResultError extends Error {
  constructor(payload) {
    super(payload.message);
    this.payload = payload;
  }
}

function asPluginError(error) {
  if (error instanceof PluginError) return error;
  throw error;
}

function configure(plugin, options) {
  let decoded;
  try {
    decoded = options.trim() === "" ? {} : JSON.parse(options);
  } catch (error) {
    throw new ResultError(config(`options are not valid JSON: ${error.message}`).toWit());
  }
  if (decoded === null || typeof decoded !== "object" || Array.isArray(decoded)) {
    throw new ResultError(config("options must be a JSON object").toWit());
  }
  try {
    return plugin.create(decoded);
  } catch (error) {
    throw new ResultError(asPluginError(error).toWit());
  }
}

const NOT_CONFIGURED = () =>
  config("the plugin was called before `configure` succeeded", "not-configured").toWit();

/**
 * The `transform` interface for componentize-js, running `plugin`:
 * `export const transform = fieldTransformer({...})`.
 */
export function fieldTransformer(plugin) {
  let run = null;
  const one = (value) => {
    if (run === null) return { tag: "err", val: NOT_CONFIGURED() };
    try {
      return { tag: "ok", val: toValue(run(fromValue(value))) };
    } catch (error) {
      return { tag: "err", val: asPluginError(error).toWit() };
    }
  };
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return {
    describe: () => descriptor(plugin, "field-transformer"),
    configure(options) {
      run = null;
      run = configure(plugin, options);
      if (typeof run !== "function") {
        throw new TypeError("create(options) must return the function that transforms one value");
      }
    },
    transform: (values) => values.map(one),
    transformText({ text, ends }) {
      const bytes = encoder.encode(text);
      const parts = [];
      const outEnds = [];
      const others = [];
      let start = 0;
      let length = 0;
      for (let i = 0; i < ends.length; i++) {
        const value = decoder.decode(bytes.subarray(start, ends[i]));
        start = ends[i];
        const result = one({ tag: "text", val: value });
        if (result.tag === "ok" && result.val.tag === "text") {
          parts.push(result.val.val);
          length += encoder.encode(result.val.val).length;
        } else {
          others.push([i, result]);
        }
        outEnds.push(length);
      }
      return { text: parts.join(""), ends: outEnds, others };
    },
  };
}

/**
 * The `normalize` interface for componentize-js, running `plugin`:
 * `export const normalize = normalizer({...})`.
 */
export function normalizer(plugin) {
  let run = null;
  return {
    describe: () => descriptor(plugin, "normalizer"),
    configure(options) {
      run = null;
      run = configure(plugin, options);
      if (typeof run !== "function") {
        throw new TypeError("create(options) must return the function that normalizes one record");
      }
    },
    normalize: (records) =>
      records.map((text) => {
        if (run === null) return { tag: "err", val: NOT_CONFIGURED() };
        let answer;
        try {
          answer = run(JSON.parse(text));
        } catch (error) {
          return { tag: "err", val: asPluginError(error).toWit() };
        }
        if (answer instanceof Skip) return { tag: "ok", val: { tag: "skip", val: answer.reason } };
        return { tag: "ok", val: { tag: "keep", val: JSON.stringify(answer) } };
      }),
  };
}
