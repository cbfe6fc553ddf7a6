/*
 * sluice.h: helpers for Sluice plugins written in C (sluice:plugin@0.2.0).
 *
 * Header-only and independent of the generated bindings: growable byte
 * buffers, UTF-8 decoding and encoding, and a small JSON reader for options
 * and records (JSON object text). Nothing here uses stdio, files, clocks or
 * randomness, so a component built with it imports only the contract.
 *
 * Ownership: every `char *` these functions return was allocated with
 * malloc and belongs to the caller. The glue of each world
 * (sluice_transformer.c, sluice_normalizer.c) hands such buffers to the
 * generated bindings, which free them after the call returns: never hand
 * the bindings a string literal or a pointer into another buffer.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffers ---------------------------------------------------------- */

/* A growable byte buffer; `data` is malloc'd (or NULL while empty). */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} sluice_buf;

/* Append `n` bytes. Aborts (traps) when memory runs out. */
static inline void sluice_buf_put(sluice_buf *b, const void *bytes, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n) cap *= 2;
        char *p = (char *)realloc(b->data, cap);
        if (!p) abort();
        b->data = p;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, bytes, n);
    b->len += n;
}

static inline void sluice_buf_puts(sluice_buf *b, const char *text) {
    sluice_buf_put(b, text, strlen(text));
}

/* A malloc'd copy of `n` bytes (never NULL; one spare NUL byte after them). */
static inline char *sluice_strndup(const char *text, size_t n) {
    char *p = (char *)malloc(n + 1);
    if (!p) abort();
    if (n) memcpy(p, text, n);
    p[n] = 0;
    return p;
}

static inline char *sluice_strdup(const char *text) {
    return sluice_strndup(text, strlen(text));
}

/* ---- UTF-8 ------------------------------------------------------------ */

/* Decode the character at `*p` (before `end`) and advance `*p`. Malformed
 * bytes decode as U+FFFD, one byte at a time. */
static inline uint32_t sluice_utf8_next(const char **p, const char *end) {
    const unsigned char *s = (const unsigned char *)*p;
    size_t left = (size_t)(end - *p);
    uint32_t c = s[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > left) {
        *p += 1;
        return 0xFFFD;
    }
    if (n == 1) {
        *p += 1;
        return c;
    }
    c &= 0x7F >> n;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *p += 1;
            return 0xFFFD;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    *p += n;
    return c;
}

/* Append `c` as UTF-8. */
static inline void sluice_utf8_put(sluice_buf *b, uint32_t c) {
    char out[4];
    size_t n;
    if (c > 0x10FFFF || (c >= 0xD800 && c < 0xE000)) c = 0xFFFD;
    if (c < 0x80) {
        out[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (c >> 18));
        out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    sluice_buf_put(b, out, n);
}

/* ---- JSON ------------------------------------------------------------- */
/*
 * A reader, not a parser into a tree: it walks JSON text in place. Values
 * are spans [start, end) of the original text; only strings are decoded
 * (into malloc'd UTF-8). The host hands a plugin valid JSON (options are
 * checked against the plugin's schema, records are serialized by the
 * host), but every function here checks bounds and returns NULL or false
 * on malformed input rather than reading past it.
 */

static inline const char *sluice_json_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* The end of the string starting at `p` (its opening quote), or NULL. */
static inline const char *sluice_json_string_end(const char *p, const char *end) {
    if (p >= end || *p != '"') return NULL;
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;
        } else if (*p == '"') {
            return p + 1;
        }
    }
    return NULL;
}

/* The end of the value starting at `p` (after white space), or NULL.
 * Nesting is bounded by `depth`. */
static inline const char *sluice_json_skip_depth(const char *p, const char *end, int depth) {
    p = sluice_json_ws(p, end);
    if (p >= end || depth > 64) return NULL;
    if (*p == '"') return sluice_json_string_end(p, end);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = sluice_json_ws(p + 1, end);
        if (p < end && *p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                p = sluice_json_string_end(sluice_json_ws(p, end), end);
                if (!p) return NULL;
                p = sluice_json_ws(p, end);
                if (p >= end || *p != ':') return NULL;
                p++;
            }
            p = sluice_json_skip_depth(p, end, depth + 1);
            if (!p) return NULL;
            p = sluice_json_ws(p, end);
            if (p >= end) return NULL;
            if (*p == close) return p + 1;
            if (*p != ',') return NULL;
            p++;
        }
    }
    /* A number, true, false or null. */
    const char *start = p;
    while (p < end && (*p == '-' || *p == '+' || *p == '.' || (*p >= '0' && *p <= '9') ||
                       (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        p++;
    return p > start ? p : NULL;
}

static inline const char *sluice_json_skip(const char *p, const char *end) {
    return sluice_json_skip_depth(p, end, 0);
}

static inline int sluice_json_hex(const char *p) {
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

/* Decode the JSON string spanning [p, end) (quotes included) into a
 * malloc'd, NUL-terminated UTF-8 text; its length in `*len`. NULL when the
 * span is not a string. */
static inline char *sluice_json_decode(const char *p, const char *end, size_t *len) {
    if (end - p < 2 || *p != '"' || end[-1] != '"') return NULL;
    sluice_buf b = {0};
    for (p++, end--; p < end; p++) {
        if (*p != '\\') {
            sluice_buf_put(&b, p, 1);
            continue;
        }
        if (++p >= end) break;
        switch (*p) {
        case 'n': sluice_buf_put(&b, "\n", 1); break;
        case 't': sluice_buf_put(&b, "\t", 1); break;
        case 'r': sluice_buf_put(&b, "\r", 1); break;
        case 'b': sluice_buf_put(&b, "\b", 1); break;
        case 'f': sluice_buf_put(&b, "\f", 1); break;
        case 'u': {
            int c = end - p > 4 ? sluice_json_hex(p + 1) : -1;
            if (c < 0) {
                free(b.data);
                return NULL;
            }
            p += 4;
            uint32_t code = (uint32_t)c;
            if (code >= 0xD800 && code < 0xDC00 && end - p > 6 && p[1] == '\\' && p[2] == 'u') {
                int low = sluice_json_hex(p + 3);
                if (low >= 0xDC00 && low < 0xE000) {
                    code = 0x10000 + ((code - 0xD800) << 10) + ((uint32_t)low - 0xDC00);
                    p += 6;
                }
            }
            sluice_utf8_put(&b, code);
            break;
        }
        default: sluice_buf_put(&b, p, 1); break; /* \" \\ \/ */
        }
    }
    sluice_buf_put(&b, "", 1);
    *len = b.len - 1;
    return b.data;
}

/* Append `text` (`n` bytes of UTF-8) as a JSON string, quotes included. */
static inline void sluice_json_put_string(sluice_buf *b, const char *text, size_t n) {
    static const char hex[] = "0123456789abcdef";
    sluice_buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            sluice_buf_put(b, esc, 2);
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sluice_buf_put(b, esc, 6);
        } else {
            sluice_buf_put(b, &text[i], 1);
        }
    }
    sluice_buf_put(b, "\"", 1);
}

/* Walks the members of a JSON object, or the items of a JSON array. */
typedef struct {
    const char *p;
    const char *end;
    char close;
    bool first;
} sluice_json_iter;

/* Start walking the object or array (`close` '}' or ']') in [text, end). */
static inline bool sluice_json_open(sluice_json_iter *it, const char *text, const char *end, char close) {
    const char *p = sluice_json_ws(text, end);
    if (p >= end || *p != (close == '}' ? '{' : '[')) return false;
    it->p = p + 1;
    it->end = end;
    it->close = close;
    it->first = true;
    return true;
}

/* The next member: for an object, its key span (quotes included) in
 * `key`/`key_end`; its value span in `value`/`value_end`. Returns 1 for a
 * member, 0 at the end, -1 on malformed JSON. For an array `key` is NULL. */
static inline int sluice_json_next(sluice_json_iter *it, const char **key, const char **key_end,
                                   const char **value, const char **value_end) {
    const char *p = sluice_json_ws(it->p, it->end);
    if (p >= it->end) return -1;
    if (*p == it->close) {
        it->p = p + 1;
        return 0;
    }
    if (!it->first) {
        if (*p != ',') return -1;
        p = sluice_json_ws(p + 1, it->end);
    }
    it->first = false;
    *key = *key_end = NULL;
    if (it->close == '}') {
        const char *k = sluice_json_string_end(p, it->end);
        if (!k) return -1;
        *key = p;
        *key_end = k;
        p = sluice_json_ws(k, it->end);
        if (p >= it->end || *p != ':') return -1;
        p = sluice_json_ws(p + 1, it->end);
    }
    const char *v = sluice_json_skip(p, it->end);
    if (!v) return -1;
    *value = p;
    *value_end = v;
    it->p = v;
    return 1;
}

/* Whether the span [p, end) is exactly `literal` (`null`, `""`...). */
static inline bool sluice_json_is(const char *p, const char *end, const char *literal) {
    size_t n = strlen(literal);
    return (size_t)(end - p) == n && memcmp(p, literal, n) == 0;
}

/* ---- the plugin's side of the contract ---------------------------------- */
/*
 * A plugin written with this SDK defines `SLUICE_PLUGIN` and the functions
 * of its kind (below); the glue of its world (sluice_transformer.c or
 * sluice_normalizer.c, built with the generated bindings) implements the
 * contract's exports with them: `describe`, `configure`, `transform` and
 * `transform-text`, or `normalize`.
 */

/* What a plugin says about itself (the contract's `descriptor`, less the
 * world, which the glue fills in). The glue copies these texts. */
typedef struct {
    const char *name;
    const char *version;
    const char *description;
    /* The options as a JSON Schema document; "{}" accepts anything. */
    const char *options_schema;
} sluice_info;

/* The contract's `error-category`, in the same order. */
typedef enum {
    SLUICE_AUTH,
    SLUICE_PERMISSIONS,
    SLUICE_PLAN_QUOTA,
    SLUICE_VALIDATION,
    SLUICE_TRANSIENT,
    SLUICE_CONNECTIVITY,
    SLUICE_DEPENDENCY_NOT_READY,
    SLUICE_CORRELATION,
    SLUICE_MAPPING,
    SLUICE_CONFIG,
} sluice_category;

/* An error to report: set it with sluice_fail, which copies the texts. */
typedef struct {
    sluice_category category;
    char *code;    /* malloc'd; the glue hands it to the bindings */
    char *message; /* malloc'd */
    char *field;   /* malloc'd, or NULL */
    bool retryable;
} sluice_error;

/* Fill `err` with copies of `code` and `message` (string literals are
 * fine) and return false, so that `return sluice_fail(...)` reports it. */
static inline bool sluice_fail(sluice_error *err, sluice_category category, const char *code,
                               const char *message) {
    err->category = category;
    err->code = sluice_strdup(code);
    err->message = sluice_strdup(message);
    err->field = NULL;
    err->retryable = false;
    return false;
}

/* A `config` error with code `invalid-options`: from plugin_configure, the
 * run stops before reading a record, showing `message`. */
static inline bool sluice_config_error(sluice_error *err, const char *message) {
    return sluice_fail(err, SLUICE_CONFIG, "invalid-options", message);
}

/* The contract's `value` kinds, in the same order. */
typedef enum {
    SLUICE_NULL,
    SLUICE_BOOLEAN,
    SLUICE_INTEGER,
    SLUICE_FLOAT,
    SLUICE_TEXT,
    SLUICE_JSON,
    SLUICE_DECIMAL,
    SLUICE_TIMESTAMP,
} sluice_kind;

/* One field value. An input value is borrowed for the call: `text` points
 * into the host's data (not NUL-terminated; use `len`). An output value's
 * `text` must be malloc'd (sluice_strndup, a sluice_buf's data): the glue
 * passes it on and the bindings free it. */
typedef struct {
    sluice_kind kind;
    bool boolean;
    int64_t integer;
    double number;
    /* TEXT, JSON, DECIMAL and TIMESTAMP: the UTF-8 text. */
    char *text;
    size_t len;
} sluice_value;

/* `out` = a copy of `in` (its text copied too): pass a value through. */
static inline void sluice_value_copy(sluice_value *out, const sluice_value *in) {
    *out = *in;
    if (in->kind >= SLUICE_TEXT) out->text = sluice_strndup(in->text, in->len);
}

/* `out` = text taken from `b` (which is left empty). */
static inline void sluice_value_take_text(sluice_value *out, sluice_buf *b) {
    out->kind = SLUICE_TEXT;
    out->text = b->data ? b->data : sluice_strndup("", 0);
    out->len = b->len;
    *b = (sluice_buf){0};
}

/* The contract's log levels, in the same order. */
typedef enum { SLUICE_TRACE, SLUICE_DEBUG, SLUICE_INFO, SLUICE_WARN, SLUICE_ERROR } sluice_level;

/* Write one line to the host's log (the contract's `log` import): the
 * only way to say something from inside the sandbox (there is no stdio). */
void sluice_log(sluice_level level, const char *message);

/* The plugin defines these (its kind's glue calls them). */
extern const sluice_info SLUICE_PLUGIN;

/* Receive the options (JSON object text, `len` bytes) once, before any
 * value or record. Return true, or `return sluice_config_error(err, ...)`. */
bool plugin_configure(const char *options, size_t len, sluice_error *err);

/* Field transformers: one value in, one value out (set `*out`), or
 * `return sluice_fail(err, ...)`: the record fails, the run goes on. */
bool plugin_transform(const sluice_value *in, sluice_value *out, sluice_error *err);

/* What became of a record, for normalizers. */
typedef enum { SLUICE_KEEP, SLUICE_SKIP, SLUICE_FAIL } sluice_outcome;

/* Normalizers: `record` is JSON object text (`len` bytes). SLUICE_KEEP with
 * the new record's JSON text in `out`, SLUICE_SKIP with the reason in
 * `out`, or SLUICE_FAIL with `err` set by sluice_fail. */
sluice_outcome plugin_normalize(const char *record, size_t len, sluice_buf *out, sluice_error *err);

#endif /* SLUICE_H */
