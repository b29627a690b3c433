// SqlConnection over the SQLite3 C API.
#include <sqlite3.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include "control/sql_connection.h"

namespace seraph {
namespace {

constexpr int kBusyTimeoutMs = 5000;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

int bind_value(sqlite3_stmt* statement, int index, std::nullptr_t) { return sqlite3_bind_null(statement, index); }
int bind_value(sqlite3_stmt* statement, int index, int64_t value) {
  return sqlite3_bind_int64(statement, index, value);
}
int bind_value(sqlite3_stmt* statement, int index, double value) {
  return sqlite3_bind_double(statement, index, value);
}
// SQLITE_STATIC: the parameters outlive the statement's execution.
int bind_value(sqlite3_stmt* statement, int index, const std::string& value) {
  return sqlite3_bind_text(statement, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(const std::string& path) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      throw SqlError("cannot open SQLite database " + path + ": " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    try {
      // WAL with synchronous=FULL: a committed transaction survives a crash or power loss.
      const auto mode = switch_to_wal();
      if (mode.empty() || mode[0].empty() || mode[0][0] != "wal") throw SqlError("cannot switch " + path + " to WAL");
      execute("PRAGMA synchronous=FULL", {});
      execute("PRAGMA foreign_keys=ON", {});
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
  }
  ~SqliteConnection() override { sqlite3_close(db_); }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  std::vector<SqlRow> execute(const std::string& sql, const std::vector<SqlValue>& params) override {
    StatementPtr statement = prepare(sql);
    bind(statement.get(), params);
    std::vector<SqlRow> rows;
    while (true) {
      const int rc = sqlite3_step(statement.get());
      if (rc == SQLITE_DONE) return rows;
      if (rc != SQLITE_ROW) throw error();
      rows.push_back(read_row(statement.get()));
    }
  }

  // IMMEDIATE takes the write lock now rather than at the first write, so two writers wait for each
  // other (busy_timeout) instead of one failing with SQLITE_BUSY halfway through.
  void begin() override { execute("BEGIN IMMEDIATE", {}); }
  void commit() override { execute("COMMIT", {}); }
  void rollback() noexcept override {
    // SQLite rolls back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, ...).
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  // Switching a new file to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY at once,
  // without the busy handler, while another connection opens the same file (replicas starting
  // together): try again until the busy timeout.
  std::vector<SqlRow> switch_to_wal() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
    while (true) {
      try {
        return execute("PRAGMA journal_mode=WAL", {});
      } catch (const SqlError&) {
        if ((sqlite3_errcode(db_) & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= give_up) throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  SqlError error() const { return SqlError(sqlite3_errmsg(db_)); }

  StatementPtr prepare(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, &tail) != SQLITE_OK) throw error();
    StatementPtr statement(raw);
    // PostgreSQL refuses several statements with parameters too; keep the backends alike.
    if (tail && std::string_view(tail).find_first_not_of(" \t\r\n;") != std::string_view::npos) {
      throw SqlError("more than one statement in: " + sql);
    }
    if (!statement) throw SqlError("no statement in: " + sql);
    return statement;
  }

  void bind(sqlite3_stmt* statement, const std::vector<SqlValue>& params) {
    if (sqlite3_bind_parameter_count(statement) != static_cast<int>(params.size())) {
      throw SqlError("statement takes " + std::to_string(sqlite3_bind_parameter_count(statement)) +
                     " parameters, given " + std::to_string(params.size()) + ": " + sqlite3_sql(statement));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      std::string name = std::to_string(i + 1);
      name.insert(name.begin(), '$');
      const int index = sqlite3_bind_parameter_index(statement, name.c_str());
      if (index == 0) throw SqlError("parameter " + name + " is not used in: " + sqlite3_sql(statement));
      const int rc = std::visit([&](const auto& value) { return bind_value(statement, index, value); }, params[i]);
      if (rc != SQLITE_OK) throw error();
    }
  }

  static SqlRow read_row(sqlite3_stmt* statement) {
    const int columns = sqlite3_column_count(statement);
    SqlRow row(columns);
    for (int column = 0; column < columns; ++column) {
      switch (sqlite3_column_type(statement, column)) {
        case SQLITE_NULL: break;
        // Not sqlite3_column_text: SQLite's text form of a REAL keeps only 15 digits.
        case SQLITE_FLOAT: row[column] = real_as_text(sqlite3_column_double(statement, column)); break;
        default: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
          if (!text) throw SqlError("out of memory reading a row");
          row[column] = std::string(text, sqlite3_column_bytes(statement, column));
        }
      }
    }
    return row;
  }

  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<SqlConnection> open_sqlite_connection(const std::string& path) {
  return std::make_unique<SqliteConnection>(path);
}

}  // namespace seraph
