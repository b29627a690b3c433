#pragma once
// One connection to the registry's database, the little the registry needs of it: statements with
// positional parameters, rows back as text, and transactions. SQLite and PostgreSQL implement it,
// so the registry's SQL is written once.
//
// Not thread-safe: the registry serialises its calls.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace seraph {

// What failed, in the database's words. Every SqlConnection function but rollback() may throw it.
class SqlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where the two backends' SQL differs (DDL only).
enum class SqlDialect { kSqlite, kPostgres };

using SqlValue = std::variant<std::nullptr_t, int64_t, double, std::string>;
// One result row, a column per entry: its value as text (integers in decimal, reals so that they
// parse back to the same double), nullopt for NULL.
using SqlRow = std::vector<std::optional<std::string>>;

// The shortest text that parses back to the same double: how reals travel as text.
inline std::string real_as_text(double value) {
  char buffer[32];
  return {buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr};
}

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;

  virtual SqlDialect dialect() const = 0;

  // Runs one statement. `$1, $2, ...` in `sql` stand for params[0], params[1], ...; every
  // parameter must be used. Returns the rows the statement produced (SELECT, or RETURNING).
  virtual std::vector<SqlRow> execute(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;

  // A write transaction: it holds the database's writer lock from begin() to its end, so writers in
  // other processes or replicas commit one after another (and ids assigned inside it become visible
  // in increasing order). begin() waits for that lock up to the connection's timeout.
  virtual void begin() = 0;
  virtual void commit() = 0;
  // Ends the transaction without writing it; does nothing when none is open. Never throws.
  virtual void rollback() noexcept = 0;
};

// `path` is created when missing.
std::unique_ptr<SqlConnection> open_sqlite_connection(const std::string& path);
// `url` is a libpq connection URI (postgres://user@host:port/database?...).
std::unique_ptr<SqlConnection> open_postgres_connection(const std::string& url);

}  // namespace seraph
