/* libFuzzer target: the TOML reader on arbitrary text. */
#include "core/toml.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dscat_toml_doc *doc = NULL;
    dscat_error err = {0};
    if (dscat_toml_parse(&doc, (const char *)data, size, &err) == 0)
        dscat_toml_free(doc);
    return 0;
}
