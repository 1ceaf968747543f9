#include "samples/fashion_mnist/options.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace fashion_mnist {
namespace {

namespace fs = std::filesystem;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

[[noreturn]] void bad_value(const std::string& key, const std::string& text, const char* expected) {
  throw std::invalid_argument("hyperparameter " + key + " = \"" + text + "\": expected " +
                              expected + ". Fix it in the job's hyperparameters (or -H " + key +
                              "=...).");
}

// The whole of `text` as a number, or nothing.
template <typename T>
std::optional<T> parse_number(const std::string& text) {
  try {
    size_t used = 0;
    T value;
    if constexpr (std::is_floating_point_v<T>)
      value = static_cast<T>(std::stod(text, &used));
    else
      value = static_cast<T>(std::stoll(text, &used));
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

int int_at_least(const std::string& key, const std::string& text, long long min,
                 const char* expected) {
  auto v = parse_number<long long>(text);
  if (!v || *v < min || *v > 1'000'000'000) bad_value(key, text, expected);
  return static_cast<int>(*v);
}

double positive_double(const std::string& key, const std::string& text) {
  auto v = parse_number<double>(text);
  if (!v || !(*v > 0)) bad_value(key, text, "a positive number");
  return *v;
}

int64_t any_int(const std::string& key, const std::string& text) {
  auto v = parse_number<long long>(text);
  if (!v) bad_value(key, text, "an integer");
  return *v;
}

}  // namespace

Hyperparameters parse_hyperparameters(int argc, char** argv, std::vector<std::string>& notes) {
  Hyperparameters hp;
  using Setter = std::function<void(const std::string&, const std::string&)>;
  const std::map<std::string, Setter> setters = {
      {"epochs",
       [&](auto& k, auto& v) { hp.epochs = int_at_least(k, v, 1, "a positive integer"); }},
      {"batch-size",
       [&](auto& k, auto& v) { hp.batch_size = int_at_least(k, v, 1, "a positive integer"); }},
      {"test-batch-size",
       [&](auto& k, auto& v) { hp.test_batch_size = int_at_least(k, v, 1, "a positive integer"); }},
      {"lr", [&](auto& k, auto& v) { hp.lr = positive_double(k, v); }},
      {"gamma", [&](auto& k, auto& v) { hp.gamma = positive_double(k, v); }},
      {"seed", [&](auto& k, auto& v) { hp.seed = any_int(k, v); }},
      {"log-interval",
       [&](auto& k, auto& v) { hp.log_interval = int_at_least(k, v, 1, "a positive integer"); }},
      {"max-steps",
       [&](auto& k, auto& v) { hp.max_steps = int_at_least(k, v, 0, "an integer >= 0"); }},
      {"num-kept-checkpoints",
       [&](auto& k, auto& v) {
         hp.num_kept_checkpoints = int_at_least(k, v, 1, "a positive integer");
       }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0)
      throw std::invalid_argument(
          "unexpected argument \"" + arg +
          "\": hyperparameters arrive as --key value pairs (SageMaker's form).");
    std::string key = arg.substr(2), value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw std::invalid_argument("hyperparameter --" + key + " has no value.");
    }
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', '-');  // batch_size and batch-size alike
    auto it = setters.find(name);
    if (it != setters.end())
      it->second(key, value);
    else if (name != "mp-parameters")
      notes.push_back("ignoring unknown hyperparameter --" + key);
  }
  return hp;
}

Paths sagemaker_paths() {
  Paths p;
  p.training = env_or("SM_CHANNEL_TRAINING", "");
  if (p.training.empty())
    throw std::runtime_error(
        "SM_CHANNEL_TRAINING is not set: this program reads Fashion-MNIST from the job's "
        "\"training\" channel. Run it through smp-local (samples/fashion_mnist/job.json) or "
        "SageMaker, or export SM_CHANNEL_TRAINING=/usr/share/datasets/fashion-mnist.");
  p.model_dir = env_or("SM_MODEL_DIR", "/opt/ml/model");
  p.output_data_dir = env_or("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data");
  p.output_dir = env_or("SM_OUTPUT_DIR", "/opt/ml/output");
  // /opt/ml itself, found through SM_MODEL_DIR so that a staged tree (smp-local without
  // namespaces) is used instead of the machine's real /opt/ml.
  fs::path opt_ml = fs::path(p.model_dir).parent_path();
  p.checkpoint_dir = (opt_ml / "checkpoints").string();
  fs::path config = fs::path(env_or("SM_INPUT_CONFIG_DIR", (opt_ml / "input/config").string())) /
                    "checkpointconfig.json";
  if (fs::is_regular_file(config)) {
    std::ifstream in(config);
    auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("LocalPath") && j["LocalPath"].is_string())
      p.checkpoint_dir = j["LocalPath"].get<std::string>();
  }
  return p;
}

}  // namespace fashion_mnist
