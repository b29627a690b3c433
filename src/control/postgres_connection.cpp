// SqlConnection over libpqxx 6.
#include <pqxx/pqxx>

#include <string>
#include <variant>

#include "control/sql_connection.h"

namespace seraph {
namespace {

constexpr int kConnectTimeoutSeconds = 5;
constexpr const char* kStatementTimeoutMs = "10000";
// A replica stuck inside a transaction must not hold the writer lock for ever.
constexpr const char* kIdleInTransactionTimeoutMs = "30000";
// The transaction-level advisory lock every write transaction takes; any constant unlikely to be
// used by another application on the same database.
constexpr int64_t kWriterLockKey = 0x5365726170680001;  // "Seraph" 1

std::string with_connect_timeout(const std::string& url) {
  if (url.find("connect_timeout=") != std::string::npos) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") +
         "connect_timeout=" + std::to_string(kConnectTimeoutSeconds);
}

// Parameters travel as text; the server converts them to the columns' types.
std::string parameter_text(std::nullptr_t) { return {}; }
std::string parameter_text(int64_t value) { return std::to_string(value); }
std::string parameter_text(double value) { return real_as_text(value); }
std::string parameter_text(const std::string& value) { return value; }

// pqxx's messages end in a newline and sometimes carry a DETAIL line: one line reads better in logs.
SqlError database_error(const std::exception& e) {
  std::string message = e.what();
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  return SqlError(message);
}

class PostgresConnection final : public SqlConnection {
 public:
  explicit PostgresConnection(const std::string& url) : connection_(with_connect_timeout(url)) {
    // Set through pqxx so that they are restored when pqxx reconnects after a lost connection.
    connection_.set_variable("statement_timeout", kStatementTimeoutMs);
    connection_.set_variable("idle_in_transaction_session_timeout", kIdleInTransactionTimeoutMs);
    connection_.set_variable("client_min_messages", "warning");  // no NOTICE for IF NOT EXISTS
  }

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  std::vector<SqlRow> execute(const std::string& sql, const std::vector<SqlValue>& params) override {
    try {
      std::vector<std::string> texts;
      std::vector<const char*> values;  // nullptr is SQL NULL
      texts.reserve(params.size());
      for (const SqlValue& param : params) {
        texts.push_back(std::visit([](const auto& value) { return parameter_text(value); }, param));
        values.push_back(std::holds_alternative<std::nullptr_t>(param) ? nullptr : texts.back().c_str());
      }
      const auto dynamic_values = pqxx::prepare::make_dynamic_params(values);
      pqxx::result result;
      if (transaction_) {
        result = transaction_->exec_params(sql, dynamic_values);
      } else {
        pqxx::nontransaction autocommit(connection_);
        result = autocommit.exec_params(sql, dynamic_values);
      }
      std::vector<SqlRow> rows;
      rows.reserve(result.size());
      for (const auto& result_row : result) {
        SqlRow& row = rows.emplace_back();
        for (const auto& field : result_row) {
          if (field.is_null())
            row.emplace_back();
          else
            row.emplace_back(std::string(field.c_str(), field.size()));
        }
      }
      return rows;
    } catch (const std::exception& e) {
      throw database_error(e);
    }
  }

  void begin() override {
    if (transaction_) throw SqlError("a transaction is already open");
    try {
      transaction_ = std::make_unique<pqxx::work>(connection_);
      transaction_->exec_params("SELECT pg_advisory_xact_lock($1)", kWriterLockKey);
    } catch (const std::exception& e) {
      transaction_.reset();
      throw database_error(e);
    }
  }

  void commit() override {
    if (!transaction_) throw SqlError("no transaction to commit");
    const auto transaction = std::move(transaction_);
    try {
      transaction->commit();
    } catch (const std::exception& e) {
      throw database_error(e);
    }
  }

  void rollback() noexcept override {
    if (!transaction_) return;
    try {
      transaction_->abort();
    } catch (const std::exception&) {
      // The connection is gone; the server rolls back on its own.
    }
    transaction_.reset();
  }

 private:
  pqxx::connection connection_;
  std::unique_ptr<pqxx::work> transaction_;  // open between begin() and commit() / rollback()
};

}  // namespace

std::unique_ptr<SqlConnection> open_postgres_connection(const std::string& url) {
  try {
    return std::make_unique<PostgresConnection>(url);
  } catch (const std::exception& e) {
    throw database_error(e);
  }
}

}  // namespace seraph
