/* libFuzzer target: targets.toml read and validated from arbitrary text. */
#include "dscat/config.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dscat_config *cfg = NULL;
    dscat_error err = {0};
    if (dscat_config_parse(&cfg, "/nonexistent/dscat-fuzz", "targets.toml", (const char *)data,
                           size, &err) == 0)
        dscat_config_free(cfg);
    return 0;
}
