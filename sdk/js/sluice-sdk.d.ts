// Types of sluice-sdk.js: write Sluice plugins in JavaScript or TypeScript
// (componentize-js 0.23, contract `sluice:plugin@0.2.0`).

/** The contract version this SDK targets. */
export declare const CONTRACT: "0.2.0";
/** The code of a `config` error made by `config(message)`. */
export declare const INVALID_OPTIONS: "invalid-options";

/** What kind of problem an error is (the contract's `error-category`). */
export type ErrorCategory =
  | "auth"
  | "permissions"
  | "plan-quota"
  | "validation"
  | "transient"
  | "connectivity"
  | "dependency-not-ready"
  | "correlation"
  | "mapping"
  | "config";

/** A log line's severity. */
export type Level = "trace" | "debug" | "info" | "warn" | "error";

/** JSON data as `JSON.parse` gives it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** An exact decimal number as canonical text (`"-12.50"`). */
export declare class Decimal {
  constructor(text: string);
  readonly text: string;
  toString(): string;
  toJSON(): string;
}

/** An instant as RFC 3339 text with an explicit offset. */
export declare class Timestamp {
  constructor(text: string);
  readonly text: string;
  toString(): string;
  toJSON(): string;
}

/**
 * One field value. null, boolean, integer (s64) as `bigint`, float as
 * `number`, text as `string`, structured data (the contract's `json`) as the
 * parsed object or array, `Decimal`, `Timestamp`. A returned `number` is a
 * float even when it is integral: return a `bigint` for an integer.
 */
export type Value =
  | null
  | boolean
  | bigint
  | number
  | string
  | Decimal
  | Timestamp
  | Json[]
  | { [key: string]: Json };

/** More about an error than its category, code and message. */
export interface ErrorDetails {
  /** The field the error is about. */
  field?: string;
  /** True when the same input may succeed if tried again later. */
  retryable?: boolean;
  /** How long to wait before trying again, in milliseconds. */
  retryAfterMs?: number;
}

/** An error reported as data: throw it, and the record fails with it. */
export declare class PluginError extends Error {
  constructor(category: ErrorCategory, code: string, message: string, details?: ErrorDetails);
  readonly category: ErrorCategory;
  readonly code: string;
  readonly field: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
}

/** A value is not acceptable (`validation("invalid-email", "...")`). */
export declare function validation(code: string, message: string, field?: string): PluginError;
/** The options are wrong; the run stops before reading a record. */
export declare function config(message: string, code?: string): PluginError;
/** A transform failed on this record. */
export declare function mapping(code: string, message: string, field?: string): PluginError;

/** Log through the host (there is no stdout or stderr). */
export declare function log(level: Level, message: string): void;

/** A normalizer's answer for a record that should not be synced. */
export declare class Skip {
  constructor(reason: string);
  readonly reason: string;
}
/** `new Skip(reason)`. */
export declare function skip(reason: string): Skip;

/** True for structured data (a plain object or an array): the `json` kind. */
export declare function isJson(value: unknown): value is Json[] | { [key: string]: Json };

/** Options as the pipeline gives them (a JSON object). */
export type Options = { [key: string]: Json };
/** A record, as a normalizer receives and returns it (a JSON object). */
export type JsonObject = { [key: string]: Json };

/** What every plugin says about itself (answers `describe`). */
export interface About<O> {
  /** The plugin's name, such as `slug`. */
  name: string;
  /** The plugin's own version (default `0.1.0`). */
  version?: string;
  /** One or two sentences on what the plugin does. */
  description?: string;
  /**
   * The options' JSON Schema. The host checks a pipeline's options against
   * it before `create`; deny unknown keys with `additionalProperties: false`.
   * Default: an object with no options.
   */
  optionsSchema?: object;
  /**
   * Build the instance's state from its options, once, before any value:
   * throw `config(...)` to refuse them (the run stops, showing your message).
   * `O` is what the schema lets through; the SDK does not check it again.
   */
  create(options: O): unknown;
}

/** A field transformer: `create` returns the function that maps one value. */
export interface FieldTransformerPlugin<O = Options> extends About<O> {
  create(options: O): (value: Value) => Value;
}

/** A normalizer: `create` returns the function that maps one record. */
export interface NormalizerPlugin<O = Options> extends About<O> {
  create(options: O): (record: JsonObject) => JsonObject | Skip;
}

/** The exported interface object; componentize-js calls it, you don't. */
export interface TransformExport {
  readonly __world: "field-transformer";
}
/** The exported interface object; componentize-js calls it, you don't. */
export interface NormalizeExport {
  readonly __world: "normalizer";
}

/** `export const transform = fieldTransformer({...})`. */
export declare function fieldTransformer<O = Options>(plugin: FieldTransformerPlugin<O>): TransformExport;
/** `export const normalize = normalizer({...})`. */
export declare function normalizer<O = Options>(plugin: NormalizerPlugin<O>): NormalizeExport;
