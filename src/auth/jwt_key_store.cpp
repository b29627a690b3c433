#include "auth/jwt_key_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "auth/jwks.h"

namespace seraph {

namespace {

constexpr size_t kMaxPemBytes = size_t{64} << 10;

Status read_bounded_file(const std::string& path, size_t limit, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  out.assign(limit + 1, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  if (in.bad()) return invalid_argument(fmt::format("error reading {}", path));
  out.resize(static_cast<size_t>(in.gcount()));
  if (out.size() > limit) return invalid_argument(fmt::format("{} is larger than {} bytes", path, limit));
  return {};
}

}  // namespace

JwtKeyStore::JwtKeyStore(std::vector<JwtKeyConfig> keys, std::string jwks_path)
    : keys_(std::move(keys)), jwks_path_(std::move(jwks_path)) {}

Status JwtKeyStore::load() { return reload(); }

Status JwtKeyStore::reload() {
  std::lock_guard lock(reload_mutex_);
  return rebuild(stamp_files());
}

Status JwtKeyStore::reload_if_changed() {
  std::lock_guard lock(reload_mutex_);
  std::vector<FileStamp> stamps = stamp_files();
  if (stamps == stamps_) return {};
  return rebuild(std::move(stamps));
}

std::shared_ptr<const JwtKeySet> JwtKeyStore::current() const {
  std::lock_guard lock(current_mutex_);
  return current_;
}

std::vector<std::string> JwtKeyStore::watched_files() const {
  std::vector<std::string> files;
  if (!jwks_path_.empty()) files.push_back(jwks_path_);
  for (const JwtKeyConfig& key : keys_) {
    if (!key.public_key_file.empty()) files.push_back(key.public_key_file);
  }
  return files;
}

std::vector<JwtKeyStore::FileStamp> JwtKeyStore::stamp_files() const {
  std::vector<FileStamp> stamps;
  for (const std::string& file : watched_files()) {
    FileStamp stamp;
    struct stat info {};
    if (::stat(file.c_str(), &info) == 0) {
      stamp = {true, info.st_dev, info.st_ino, info.st_size,
               static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
    }
    stamps.push_back(stamp);
  }
  return stamps;
}

// Stamps are taken before reading: a file rewritten while we read differs from them next time.
Status JwtKeyStore::rebuild(std::vector<FileStamp> stamps) {
  stamps_ = std::move(stamps);
  std::vector<JwtKeyConfig> resolved = keys_;
  for (JwtKeyConfig& key : resolved) {
    if (key.public_key_file.empty()) continue;
    if (!key.public_key_pem.empty()) {
      return invalid_argument(fmt::format("JWT key '{}': give public_key_pem or public_key_file, not both", key.kid));
    }
    if (Status status = read_bounded_file(key.public_key_file, kMaxPemBytes, key.public_key_pem); !status.is_ok()) {
      return status;
    }
    key.public_key_file.clear();
  }
  std::string jwks;
  if (!jwks_path_.empty()) {
    if (Status status = read_bounded_file(jwks_path_, kMaxJwksBytes, jwks); !status.is_ok()) return status;
    if (jwks.empty()) return invalid_argument(fmt::format("JWKS file {} is empty", jwks_path_));
  }
  std::shared_ptr<const JwtKeySet> set;
  if (Status status = build_jwt_key_set(resolved, jwks, set); !status.is_ok()) {
    return Status(status.code(),
                  jwks_path_.empty() ? status.message() : fmt::format("{} ({})", status.message(), jwks_path_));
  }
  {
    std::lock_guard lock(current_mutex_);
    current_ = std::move(set);
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

}  // namespace seraph
