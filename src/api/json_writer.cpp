#include "api/json_writer.h"

#include "wire/json_text.h"

namespace seraph {

std::string error_body(std::string_view message) {
  JsonText w({}, message.size() + 16);
  w.StartObject();
  write_key(w, "error");
  write_string(w, message);
  w.EndObject();
  return std::move(w).take();
}

HttpResponse json_response(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse error_response(const Status& status) {
  return json_response(http_status_of(status.code()), error_body(status.message()));
}

HttpResponse error_response(unsigned http_status, std::string_view message) {
  return json_response(http_status, error_body(message));
}

}  // namespace seraph
