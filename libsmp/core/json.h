#pragma once
// Json: the one JSON value type of the project. Insertion-ordered, because the SageMaker SDK
// serializes user dicts in their given order (json.dumps without sort_keys).

#include <nlohmann/json.hpp>

namespace smp::core {
using Json = nlohmann::ordered_json;
}  // namespace smp::core
