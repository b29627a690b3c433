#pragma once
// Holds the current JWT key set and rebuilds it when its files change: the JWKS file and the PEM
// files named by keys. A rebuild that fails keeps the previous set, so a half-written or broken
// file never leaves the server without keys; the error is returned for the caller to report.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/jwt_key_set.h"
#include "core/status.h"

namespace seraph {

class JwtKeyStore {
 public:
  JwtKeyStore(std::vector<JwtKeyConfig> keys, std::string jwks_path /* empty: none */);

  // The first load; an error here is a config error (start-up fails).
  Status load();
  // Forced (SIGHUP): reads every file again. On error keeps the previous set and returns the error.
  Status reload();
  // A stat() of each file (inode, size, mtime); reloads when one differs from the last attempt. A
  // broken file is reported once, then retried when it changes again. Call it about once a second.
  Status reload_if_changed();

  // The current set (nullptr before a successful load). Takes a mutex: request threads should keep
  // their own copy and fetch a new one only when version() moves.
  std::shared_ptr<const JwtKeySet> current() const;
  // Counts the sets installed; a lock-free read.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  struct FileStamp {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    off_t size = 0;
    int64_t modified_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };

  std::vector<std::string> watched_files() const;
  std::vector<FileStamp> stamp_files() const;
  Status rebuild(std::vector<FileStamp> stamps);

  const std::vector<JwtKeyConfig> keys_;
  const std::string jwks_path_;

  std::mutex reload_mutex_;        // one reload at a time
  std::vector<FileStamp> stamps_;  // of the last attempt; guarded by reload_mutex_

  mutable std::mutex current_mutex_;
  std::shared_ptr<const JwtKeySet> current_;  // guarded by current_mutex_
  std::atomic<uint64_t> version_{0};
};

}  // namespace seraph
