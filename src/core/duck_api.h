/*
 * The DuckDB C API, loaded on first use: the library is opened with dlopen() by
 * dscat_duck_load(), not at process start, so a command that never opens DuckDB (find, table,
 * status, the MCP server's searches) does not pay for relocating it. Code that calls DuckDB
 * includes this header (through core/duck.h) instead of <duckdb.h>; each function it calls is
 * in the list below, and each call goes through the loaded table. A function missing from the
 * list is a link error (the binary is not linked with DuckDB), never a silent direct call.
 */
#ifndef DSCAT_CORE_DUCK_API_H
#define DSCAT_CORE_DUCK_API_H

#include "dscat/common.h"

#include <duckdb.h>

/* Every DuckDB function dscat calls. */
#define DSCAT_DUCK_FUNCTIONS(X)                                                                    \
    X(duckdb_append_blob)                                                                          \
    X(duckdb_append_bool)                                                                          \
    X(duckdb_append_data_chunk)                                                                    \
    X(duckdb_append_date)                                                                          \
    X(duckdb_append_double)                                                                        \
    X(duckdb_append_float)                                                                         \
    X(duckdb_append_hugeint)                                                                       \
    X(duckdb_append_int16)                                                                         \
    X(duckdb_append_int32)                                                                         \
    X(duckdb_append_int64)                                                                         \
    X(duckdb_append_int8)                                                                          \
    X(duckdb_append_null)                                                                          \
    X(duckdb_append_timestamp)                                                                     \
    X(duckdb_append_uint64)                                                                        \
    X(duckdb_append_varchar)                                                                       \
    X(duckdb_append_varchar_length)                                                                \
    X(duckdb_appender_close)                                                                       \
    X(duckdb_appender_create)                                                                      \
    X(duckdb_appender_destroy)                                                                     \
    X(duckdb_appender_end_row)                                                                     \
    X(duckdb_appender_error)                                                                       \
    X(duckdb_bind_add_result_column)                                                               \
    X(duckdb_bind_get_extra_info)                                                                  \
    X(duckdb_bind_get_parameter)                                                                   \
    X(duckdb_bind_get_parameter_count)                                                             \
    X(duckdb_bind_set_bind_data)                                                                   \
    X(duckdb_bind_set_error)                                                                       \
    X(duckdb_bind_varchar)                                                                         \
    X(duckdb_close)                                                                                \
    X(duckdb_column_count)                                                                         \
    X(duckdb_column_name)                                                                          \
    X(duckdb_column_type)                                                                          \
    X(duckdb_connect)                                                                              \
    X(duckdb_create_config)                                                                        \
    X(duckdb_create_data_chunk)                                                                    \
    X(duckdb_create_decimal_type)                                                                  \
    X(duckdb_create_list_type)                                                                     \
    X(duckdb_create_logical_type)                                                                  \
    X(duckdb_create_table_function)                                                                \
    X(duckdb_data_chunk_get_size)                                                                  \
    X(duckdb_data_chunk_get_vector)                                                                \
    X(duckdb_data_chunk_reset)                                                                     \
    X(duckdb_data_chunk_set_size)                                                                  \
    X(duckdb_destroy_config)                                                                       \
    X(duckdb_destroy_data_chunk)                                                                   \
    X(duckdb_destroy_extracted)                                                                    \
    X(duckdb_destroy_logical_type)                                                                 \
    X(duckdb_destroy_prepare)                                                                      \
    X(duckdb_destroy_result)                                                                       \
    X(duckdb_destroy_table_function)                                                               \
    X(duckdb_destroy_value)                                                                        \
    X(duckdb_disconnect)                                                                           \
    X(duckdb_execute_prepared)                                                                     \
    X(duckdb_execute_prepared_streaming)                                                           \
    X(duckdb_extract_statements)                                                                   \
    X(duckdb_extract_statements_error)                                                             \
    X(duckdb_fetch_chunk)                                                                          \
    X(duckdb_free)                                                                                 \
    X(duckdb_function_get_bind_data)                                                               \
    X(duckdb_function_get_extra_info)                                                              \
    X(duckdb_function_get_init_data)                                                               \
    X(duckdb_function_set_error)                                                                   \
    X(duckdb_get_type_id)                                                                          \
    X(duckdb_get_varchar)                                                                          \
    X(duckdb_init_get_column_count)                                                                \
    X(duckdb_init_get_column_index)                                                                \
    X(duckdb_init_get_extra_info)                                                                  \
    X(duckdb_init_set_init_data)                                                                   \
    X(duckdb_init_set_max_threads)                                                                 \
    X(duckdb_interrupt)                                                                            \
    X(duckdb_library_version)                                                                      \
    X(duckdb_open_ext)                                                                             \
    X(duckdb_prepare)                                                                              \
    X(duckdb_prepare_error)                                                                        \
    X(duckdb_prepared_statement_type)                                                              \
    X(duckdb_query)                                                                                \
    X(duckdb_register_table_function)                                                              \
    X(duckdb_result_error)                                                                         \
    X(duckdb_row_count)                                                                            \
    X(duckdb_set_config)                                                                           \
    X(duckdb_string_t_data)                                                                        \
    X(duckdb_string_t_length)                                                                      \
    X(duckdb_table_function_add_parameter)                                                         \
    X(duckdb_table_function_set_bind)                                                              \
    X(duckdb_table_function_set_extra_info)                                                        \
    X(duckdb_table_function_set_function)                                                          \
    X(duckdb_table_function_set_init)                                                              \
    X(duckdb_table_function_set_name)                                                              \
    X(duckdb_table_function_supports_projection_pushdown)                                          \
    X(duckdb_validity_row_is_valid)                                                                \
    X(duckdb_validity_set_row_invalid)                                                             \
    X(duckdb_validity_set_row_valid)                                                               \
    X(duckdb_value_int64)                                                                          \
    X(duckdb_value_varchar)                                                                        \
    X(duckdb_vector_assign_string_element)                                                         \
    X(duckdb_vector_assign_string_element_len)                                                     \
    X(duckdb_vector_ensure_validity_writable)                                                      \
    X(duckdb_vector_get_column_type)                                                               \
    X(duckdb_vector_get_data)                                                                      \
    X(duckdb_vector_get_validity)                                                                  \
    X(duckdb_vector_size)

typedef struct dscat_duck_api {
#define DSCAT_DUCK_MEMBER(f) __typeof__(&f) f;
    DSCAT_DUCK_FUNCTIONS(DSCAT_DUCK_MEMBER)
#undef DSCAT_DUCK_MEMBER
} dscat_duck_api;

/*
 * The loaded functions, DuckDB loaded first if it was not yet (every call goes through it). When
 * the library cannot be loaded they are NULL: a path that may be the first to use DuckDB calls
 * dscat_duck_load() to report that as an error.
 */
const dscat_duck_api *dscat__duck_api(void);

/*
 * Loads DuckDB once per process (thread-safe). 0, or DSCAT_EIO with a message naming the library
 * and the cause (the same on every later call). Every path that opens a DuckDB database, and every
 * job that may be the first to use DuckDB, calls it first.
 */
int dscat_duck_load(dscat_error *err);

#ifndef DSCAT_DUCK_API_INTERNAL
#define duckdb_append_blob (dscat__duck_api()->duckdb_append_blob)
#define duckdb_append_bool (dscat__duck_api()->duckdb_append_bool)
#define duckdb_append_data_chunk (dscat__duck_api()->duckdb_append_data_chunk)
#define duckdb_append_date (dscat__duck_api()->duckdb_append_date)
#define duckdb_append_double (dscat__duck_api()->duckdb_append_double)
#define duckdb_append_float (dscat__duck_api()->duckdb_append_float)
#define duckdb_append_hugeint (dscat__duck_api()->duckdb_append_hugeint)
#define duckdb_append_int16 (dscat__duck_api()->duckdb_append_int16)
#define duckdb_append_int32 (dscat__duck_api()->duckdb_append_int32)
#define duckdb_append_int64 (dscat__duck_api()->duckdb_append_int64)
#define duckdb_append_int8 (dscat__duck_api()->duckdb_append_int8)
#define duckdb_append_null (dscat__duck_api()->duckdb_append_null)
#define duckdb_append_timestamp (dscat__duck_api()->duckdb_append_timestamp)
#define duckdb_append_uint64 (dscat__duck_api()->duckdb_append_uint64)
#define duckdb_append_varchar (dscat__duck_api()->duckdb_append_varchar)
#define duckdb_append_varchar_length (dscat__duck_api()->duckdb_append_varchar_length)
#define duckdb_appender_close (dscat__duck_api()->duckdb_appender_close)
#define duckdb_appender_create (dscat__duck_api()->duckdb_appender_create)
#define duckdb_appender_destroy (dscat__duck_api()->duckdb_appender_destroy)
#define duckdb_appender_end_row (dscat__duck_api()->duckdb_appender_end_row)
#define duckdb_appender_error (dscat__duck_api()->duckdb_appender_error)
#define duckdb_bind_add_result_column (dscat__duck_api()->duckdb_bind_add_result_column)
#define duckdb_bind_get_extra_info (dscat__duck_api()->duckdb_bind_get_extra_info)
#define duckdb_bind_get_parameter (dscat__duck_api()->duckdb_bind_get_parameter)
#define duckdb_bind_get_parameter_count (dscat__duck_api()->duckdb_bind_get_parameter_count)
#define duckdb_bind_set_bind_data (dscat__duck_api()->duckdb_bind_set_bind_data)
#define duckdb_bind_set_error (dscat__duck_api()->duckdb_bind_set_error)
#define duckdb_bind_varchar (dscat__duck_api()->duckdb_bind_varchar)
#define duckdb_close (dscat__duck_api()->duckdb_close)
#define duckdb_column_count (dscat__duck_api()->duckdb_column_count)
#define duckdb_column_name (dscat__duck_api()->duckdb_column_name)
#define duckdb_column_type (dscat__duck_api()->duckdb_column_type)
#define duckdb_connect (dscat__duck_api()->duckdb_connect)
#define duckdb_create_config (dscat__duck_api()->duckdb_create_config)
#define duckdb_create_data_chunk (dscat__duck_api()->duckdb_create_data_chunk)
#define duckdb_create_decimal_type (dscat__duck_api()->duckdb_create_decimal_type)
#define duckdb_create_list_type (dscat__duck_api()->duckdb_create_list_type)
#define duckdb_create_logical_type (dscat__duck_api()->duckdb_create_logical_type)
#define duckdb_create_table_function (dscat__duck_api()->duckdb_create_table_function)
#define duckdb_data_chunk_get_size (dscat__duck_api()->duckdb_data_chunk_get_size)
#define duckdb_data_chunk_get_vector (dscat__duck_api()->duckdb_data_chunk_get_vector)
#define duckdb_data_chunk_reset (dscat__duck_api()->duckdb_data_chunk_reset)
#define duckdb_data_chunk_set_size (dscat__duck_api()->duckdb_data_chunk_set_size)
#define duckdb_destroy_config (dscat__duck_api()->duckdb_destroy_config)
#define duckdb_destroy_data_chunk (dscat__duck_api()->duckdb_destroy_data_chunk)
#define duckdb_destroy_extracted (dscat__duck_api()->duckdb_destroy_extracted)
#define duckdb_destroy_logical_type (dscat__duck_api()->duckdb_destroy_logical_type)
#define duckdb_destroy_prepare (dscat__duck_api()->duckdb_destroy_prepare)
#define duckdb_destroy_result (dscat__duck_api()->duckdb_destroy_result)
#define duckdb_destroy_table_function (dscat__duck_api()->duckdb_destroy_table_function)
#define duckdb_destroy_value (dscat__duck_api()->duckdb_destroy_value)
#define duckdb_disconnect (dscat__duck_api()->duckdb_disconnect)
#define duckdb_execute_prepared (dscat__duck_api()->duckdb_execute_prepared)
#define duckdb_execute_prepared_streaming (dscat__duck_api()->duckdb_execute_prepared_streaming)
#define duckdb_extract_statements (dscat__duck_api()->duckdb_extract_statements)
#define duckdb_extract_statements_error (dscat__duck_api()->duckdb_extract_statements_error)
#define duckdb_fetch_chunk (dscat__duck_api()->duckdb_fetch_chunk)
#define duckdb_free (dscat__duck_api()->duckdb_free)
#define duckdb_function_get_bind_data (dscat__duck_api()->duckdb_function_get_bind_data)
#define duckdb_function_get_extra_info (dscat__duck_api()->duckdb_function_get_extra_info)
#define duckdb_function_get_init_data (dscat__duck_api()->duckdb_function_get_init_data)
#define duckdb_function_set_error (dscat__duck_api()->duckdb_function_set_error)
#define duckdb_get_type_id (dscat__duck_api()->duckdb_get_type_id)
#define duckdb_get_varchar (dscat__duck_api()->duckdb_get_varchar)
#define duckdb_init_get_column_count (dscat__duck_api()->duckdb_init_get_column_count)
#define duckdb_init_get_column_index (dscat__duck_api()->duckdb_init_get_column_index)
#define duckdb_init_get_extra_info (dscat__duck_api()->duckdb_init_get_extra_info)
#define duckdb_init_set_init_data (dscat__duck_api()->duckdb_init_set_init_data)
#define duckdb_init_set_max_threads (dscat__duck_api()->duckdb_init_set_max_threads)
#define duckdb_interrupt (dscat__duck_api()->duckdb_interrupt)
#define duckdb_library_version (dscat__duck_api()->duckdb_library_version)
#define duckdb_open_ext (dscat__duck_api()->duckdb_open_ext)
#define duckdb_prepare (dscat__duck_api()->duckdb_prepare)
#define duckdb_prepare_error (dscat__duck_api()->duckdb_prepare_error)
#define duckdb_prepared_statement_type (dscat__duck_api()->duckdb_prepared_statement_type)
#define duckdb_query (dscat__duck_api()->duckdb_query)
#define duckdb_register_table_function (dscat__duck_api()->duckdb_register_table_function)
#define duckdb_result_error (dscat__duck_api()->duckdb_result_error)
#define duckdb_row_count (dscat__duck_api()->duckdb_row_count)
#define duckdb_set_config (dscat__duck_api()->duckdb_set_config)
#define duckdb_string_t_data (dscat__duck_api()->duckdb_string_t_data)
#define duckdb_string_t_length (dscat__duck_api()->duckdb_string_t_length)
#define duckdb_table_function_add_parameter (dscat__duck_api()->duckdb_table_function_add_parameter)
#define duckdb_table_function_set_bind (dscat__duck_api()->duckdb_table_function_set_bind)
#define duckdb_table_function_set_extra_info                                                       \
    (dscat__duck_api()->duckdb_table_function_set_extra_info)
#define duckdb_table_function_set_function (dscat__duck_api()->duckdb_table_function_set_function)
#define duckdb_table_function_set_init (dscat__duck_api()->duckdb_table_function_set_init)
#define duckdb_table_function_set_name (dscat__duck_api()->duckdb_table_function_set_name)
#define duckdb_table_function_supports_projection_pushdown                                         \
    (dscat__duck_api()->duckdb_table_function_supports_projection_pushdown)
#define duckdb_validity_row_is_valid (dscat__duck_api()->duckdb_validity_row_is_valid)
#define duckdb_validity_set_row_invalid (dscat__duck_api()->duckdb_validity_set_row_invalid)
#define duckdb_validity_set_row_valid (dscat__duck_api()->duckdb_validity_set_row_valid)
#define duckdb_value_int64 (dscat__duck_api()->duckdb_value_int64)
#define duckdb_value_varchar (dscat__duck_api()->duckdb_value_varchar)
#define duckdb_vector_assign_string_element (dscat__duck_api()->duckdb_vector_assign_string_element)
#define duckdb_vector_assign_string_element_len                                                    \
    (dscat__duck_api()->duckdb_vector_assign_string_element_len)
#define duckdb_vector_ensure_validity_writable                                                     \
    (dscat__duck_api()->duckdb_vector_ensure_validity_writable)
#define duckdb_vector_get_column_type (dscat__duck_api()->duckdb_vector_get_column_type)
#define duckdb_vector_get_data (dscat__duck_api()->duckdb_vector_get_data)
#define duckdb_vector_get_validity (dscat__duck_api()->duckdb_vector_get_validity)
#define duckdb_vector_size (dscat__duck_api()->duckdb_vector_size)
#endif

#endif
