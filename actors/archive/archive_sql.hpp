#pragma once
// The archive's SQL: actors/archive/sql/archive_schema.sql (tables by numbered
// migration, and the functions the archive calls), embedded at build time.

namespace chatnode::archive_sql {

extern const char* const schema;  ///< run at every start; answers the schema's version
inline constexpr int version = 5; ///< the newest migration this node knows

} // namespace chatnode::archive_sql
