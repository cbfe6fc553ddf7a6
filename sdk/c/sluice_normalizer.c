/*
 * sluice_normalizer.c: the contract's `normalize` exports (world
 * `normalizer`, sluice:plugin@0.2.0) implemented with the plugin's
 * SLUICE_PLUGIN, plugin_configure and plugin_normalize (see sluice.h).
 *
 * Ownership at the boundary, as the generated bindings (bindings/) define
 * it: an export receives its arguments owned (this file frees them after
 * use) and returns malloc'd results, which the bindings free after the host
 * has copied them (the `cabi_post_*` functions).
 */
#include "sluice.h"

#include "normalizer.h"

typedef normalizer_string_t wit_string;
typedef exports_sluice_plugin_normalize_plugin_error_t wit_error;
typedef exports_sluice_plugin_normalize_result_normalized_plugin_error_t wit_result;

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

void exports_sluice_plugin_normalize_describe(exports_sluice_plugin_normalize_descriptor_t *ret) {
    ret->name = copied(SLUICE_PLUGIN.name);
    ret->version = copied(SLUICE_PLUGIN.version);
    ret->description = copied(SLUICE_PLUGIN.description ? SLUICE_PLUGIN.description : "");
    ret->world = copied("normalizer");
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

bool exports_sluice_plugin_normalize_configure(wit_string *options, wit_error *err) {
    sluice_error e = {0};
    bool ok = plugin_configure((const char *)options->ptr, options->len, &e);
    normalizer_string_free(options);
    if (!ok) to_wit_error(&e, err);
    return ok;
}

void exports_sluice_plugin_normalize_normalize(normalizer_list_string_t *records,
                                               exports_sluice_plugin_normalize_list_result_normalized_plugin_error_t *ret) {
    ret->len = records->len;
    ret->ptr = records->len ? (wit_result *)calloc(records->len, sizeof(wit_result)) : NULL;
    if (records->len && !ret->ptr) abort();
    for (size_t i = 0; i < records->len; i++) {
        sluice_buf out = {0};
        sluice_error e = {0};
        wit_result *r = &ret->ptr[i];
        switch (plugin_normalize((const char *)records->ptr[i].ptr, records->ptr[i].len, &out, &e)) {
        case SLUICE_KEEP:
            r->is_err = false;
            r->val.ok.tag = EXPORTS_SLUICE_PLUGIN_NORMALIZE_NORMALIZED_KEEP;
            r->val.ok.val.keep = owned(out.data, out.len);
            break;
        case SLUICE_SKIP:
            r->is_err = false;
            r->val.ok.tag = EXPORTS_SLUICE_PLUGIN_NORMALIZE_NORMALIZED_SKIP;
            r->val.ok.val.skip = owned(out.data, out.len);
            break;
        default:
            free(out.data);
            r->is_err = true;
            to_wit_error(&e, &r->val.err);
            break;
        }
    }
    normalizer_list_string_free(records);
}
