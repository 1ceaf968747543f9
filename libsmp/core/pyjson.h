#pragma once
// pyjson: Python's spellings of JSON values — json.dumps (with its separators, sort_keys and
// ensure_ascii), json.loads (incl. NaN/Infinity), and str()/repr() of the decoded objects.
// SageMaker's SDK and training toolkit are Python; matching their bytes needs these.

#include <optional>
#include <string>

#include "libsmp/core/json.h"

namespace smp::core {

struct DumpStyle {
  bool sort_keys = false;
  std::string item_separator = ", ";  // Python's default separators
  std::string key_separator = ": ";
  bool ensure_ascii = true;
};

// json.dumps(value, ...) as Python 3 writes it.
std::string py_dumps(const Json& value, const DumpStyle& style = {});
// The training toolkit's compact form: sort_keys=True, separators=(",", ":"), ensure_ascii.
std::string py_dumps_compact(const Json& value);
// json.loads(text); nullopt where Python raises ValueError. Accepts NaN, Infinity, -Infinity.
std::optional<Json> py_loads(const std::string& text);
// repr(float): shortest round-trip digits, Python's switch to exponent form.
std::string py_float_repr(double value);
// repr() / str() of the Python object json.loads would produce.
std::string py_repr(const Json& value);
std::string py_str(const Json& value);
// bool(value): Python's truthiness of the decoded object (None, False, 0, "", [], {} are false).
bool py_truthy(const Json& value);

}  // namespace smp::core
