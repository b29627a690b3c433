#pragma once
// JSON answers over HTTP: error bodies and responses. The writer itself is wire-level
// (wire/json_writer.h), included here for the handlers that build their own documents.
#include <string>
#include <string_view>

#include "api/http.h"
#include "core/status.h"
#include "wire/json_writer.h"

namespace seraph {

// {"error": "<message>"}
std::string error_body(std::string_view message);
// Answers with a JSON body: as given, or {"error": ...} with the status's code.
HttpResponse json_response(unsigned status, std::string body);
HttpResponse error_response(const Status& status);
HttpResponse error_response(unsigned http_status, std::string_view message);

}  // namespace seraph
