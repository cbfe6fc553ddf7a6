/*
 * sluice_transformer.c: the contract's `transform` exports (world
 * `field-transformer`, sluice:plugin@0.2.0) implemented with the plugin's
 * SLUICE_PLUGIN, plugin_configure and plugin_transform (see sluice.h).
 *
 * Ownership at the boundary, as the generated bindings (bindings/) define
 * it: an export receives its arguments owned (this file frees them after
 * use) and returns malloc'd results, which the bindings free after the host
 * has copied them (the `cabi_post_*` functions).
 */
#include "sluice.h"

#include "field_transformer.h"

typedef field_transformer_string_t wit_string;
typedef exports_sluice_plugin_transform_value_t wit_value;
typedef exports_sluice_plugin_transform_plugin_error_t wit_error;
typedef exports_sluice_plugin_transform_result_value_plugin_error_t wit_result;

/* A contract string owning `text` (malloc'd, or NULL when `len` is 0). */
static wit_string owned(char *text, size_t len) {
    if (len == 0) {
        free(text);
        text = NULL;
    }
    return (wit_string){(uint8_t *)text, len};
}

static wit_string copied(const char *text) {
    size_t len = strlen(text);
    return owned(len ? sluice_strndup(text, len) : NULL, len);
}

void sluice_log(sluice_level level, const char *message) {
    wit_string text = {(uint8_t *)message, strlen(message)};
    sluice_plugin_log_log((sluice_plugin_log_level_t)level, &text);
}

void exports_sluice_plugin_transform_describe(exports_sluice_plugin_transform_descriptor_t *ret) {
    ret->name = copied(SLUICE_PLUGIN.name);
    ret->version = copied(SLUICE_PLUGIN.version);
    ret->description = copied(SLUICE_PLUGIN.description ? SLUICE_PLUGIN.description : "");
    ret->world = copied("field-transformer");
    ret->options_schema = copied(SLUICE_PLUGIN.options_schema ? SLUICE_PLUGIN.options_schema : "{}");
}

static void to_wit_error(const sluice_error *from, wit_error *to) {
    to->category = (sluice_plugin_types_error_category_t)from->category;
    to->code = owned(from->code ? from->code : sluice_strdup("plugin-error"),
                     from->code ? strlen(from->code) : 12);
    to->message = owned(from->message ? from->message : sluice_strdup(""),
                        from->message ? strlen(from->message) : 0);
    to->field.is_some = from->field != NULL;
    if (from->field) to->field.val = owned(from->field, strlen(from->field));
    to->retryable = from->retryable;
    to->retry_after_ms.is_some = false;
}

bool exports_sluice_plugin_transform_configure(wit_string *options, wit_error *err) {
    sluice_error e = {0};
    bool ok = plugin_configure((const char *)options->ptr, options->len, &e);
    field_transformer_string_free(options);
    if (!ok) to_wit_error(&e, err);
    return ok;
}

static sluice_value from_wit(const wit_value *v) {
    sluice_value out = {0};
    out.kind = (sluice_kind)v->tag;
    switch (v->tag) {
    case SLUICE_PLUGIN_TYPES_VALUE_BOOLEAN: out.boolean = v->val.boolean; break;
    case SLUICE_PLUGIN_TYPES_VALUE_INTEGER: out.integer = v->val.integer; break;
    case SLUICE_PLUGIN_TYPES_VALUE_FLOAT: out.number = v->val.float_; break;
    case SLUICE_PLUGIN_TYPES_VALUE_TEXT:
    case SLUICE_PLUGIN_TYPES_VALUE_JSON:
    case SLUICE_PLUGIN_TYPES_VALUE_DECIMAL:
    case SLUICE_PLUGIN_TYPES_VALUE_TIMESTAMP:
        /* text, json, decimal and timestamp share the string's place. */
        out.text = (char *)v->val.text.ptr;
        out.len = v->val.text.len;
        break;
    default: break;
    }
    return out;
}

static void to_wit(sluice_value *v, wit_value *out) {
    out->tag = (uint8_t)v->kind;
    switch (v->kind) {
    case SLUICE_BOOLEAN: out->val.boolean = v->boolean; break;
    case SLUICE_INTEGER: out->val.integer = v->integer; break;
    case SLUICE_FLOAT: out->val.float_ = v->number; break;
    case SLUICE_TEXT:
    case SLUICE_JSON:
    case SLUICE_DECIMAL:
    case SLUICE_TIMESTAMP: out->val.text = owned(v->text, v->len); break;
    default: break;
    }
}

/* Run the plugin on one value; fill `out`. */
static void transform_one(const sluice_value *in, wit_result *out) {
    sluice_value result = {0};
    sluice_error e = {0};
    if (plugin_transform(in, &result, &e)) {
        out->is_err = false;
        to_wit(&result, &out->val.ok);
    } else {
        out->is_err = true;
        to_wit_error(&e, &out->val.err);
    }
}

void exports_sluice_plugin_transform_transform(exports_sluice_plugin_transform_list_value_t *values,
                                               exports_sluice_plugin_transform_list_result_value_plugin_error_t *ret) {
    ret->len = values->len;
    ret->ptr = values->len ? (wit_result *)calloc(values->len, sizeof(wit_result)) : NULL;
    if (values->len && !ret->ptr) abort();
    for (size_t i = 0; i < values->len; i++) {
        sluice_value in = from_wit(&values->ptr[i]);
        transform_one(&in, &ret->ptr[i]);
    }
    exports_sluice_plugin_transform_list_value_free(values);
}

/* The packed text path: the same plugin_transform on each text, results
 * packed back (text results into `text`, the others into `others`). */
void exports_sluice_plugin_transform_transform_text(exports_sluice_plugin_transform_text_batch_t *batch,
                                                    exports_sluice_plugin_transform_text_answer_t *ret) {
    size_t count = batch->ends.len;
    sluice_buf text = {0};
    uint32_t *ends = count ? (uint32_t *)malloc(count * sizeof(uint32_t)) : NULL;
    exports_sluice_plugin_transform_tuple2_u32_result_value_plugin_error_t *others = NULL;
    size_t others_len = 0;
    if (count && !ends) abort();
    uint32_t start = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t end = batch->ends.ptr[i];
        if (end < start || end > batch->text.len) end = start; /* the host never sends this */
        sluice_value in = {.kind = SLUICE_TEXT, .text = (char *)batch->text.ptr + start, .len = end - start};
        start = end;
        sluice_value result = {0};
        sluice_error e = {0};
        bool ok = plugin_transform(&in, &result, &e);
        if (ok && result.kind == SLUICE_TEXT) {
            sluice_buf_put(&text, result.text, result.len);
            free(result.text);
        } else {
            others = realloc(others, (others_len + 1) * sizeof *others);
            if (!others) abort();
            others[others_len].f0 = (uint32_t)i;
            wit_result *r = &others[others_len].f1;
            if (!ok) {
                r->is_err = true;
                to_wit_error(&e, &r->val.err);
            } else {
                r->is_err = false;
                to_wit(&result, &r->val.ok);
            }
            others_len++;
        }
        ends[i] = (uint32_t)text.len;
    }
    exports_sluice_plugin_transform_text_batch_free(batch);
    ret->text = owned(text.data, text.len);
    ret->ends = (field_transformer_list_u32_t){ends, count};
    ret->others.ptr = others;
    ret->others.len = others_len;
}
