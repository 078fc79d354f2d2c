#include "methods/backbone/torchscript_backbone.h"

#include <torch/script.h>

#include <filesystem>
#include <mutex>
#include <sstream>

#include "core/error.h"
#include "core/file_pin.h"
#include "core/hash.h"
#include "methods/schedules/noise_schedule.h"

namespace vdlab {

namespace {

const char* kSignature = "forward(self, x: Tensor[B,C,F,H,W], t: Tensor[B,F], cond: Tensor[B] int64) -> Tensor";

class TorchScriptBackbone : public Backbone {
 public:
  TorchScriptBackbone(torch::jit::Module module, std::string path, Prediction prediction, Json schedule,
                      int64_t channels, bool conditional, Json identity)
      : module_(std::move(module)), path_(std::move(path)), prediction_(prediction), schedule_(std::move(schedule)),
        channels_(channels), conditional_(conditional), identity_(std::move(identity)) {}

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const Conditioning& cond) override {
    const int64_t B = x.size(0);
    torch::Tensor labels = cond.labels.defined() ? cond.labels.to(x.device(), torch::kLong)
                                                 : torch::full({B}, -1, torch::TensorOptions().dtype(torch::kLong).device(x.device()));
    torch::NoGradGuard guard;
    c10::IValue out;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      out = module_.forward({x, t.to(x.device(), torch::kFloat32), labels});
    }
    if (!out.isTensor()) throw Error("torchscript backbone " + path_ + ": forward returned a " + out.tagKind() + ", not a Tensor");
    torch::Tensor y = out.toTensor();
    if (y.sizes() != x.sizes())
      throw Error("torchscript backbone " + path_ + ": forward returned shape " + c10::str(y.sizes()) +
                  " for input " + c10::str(x.sizes()) + " (expected the input's shape; signature " + kSignature + ")");
    return y;
  }
  Prediction prediction() const override { return prediction_; }
  Json schedule() const override { return schedule_; }
  int64_t channels() const override { return channels_; }
  bool conditional() const override { return conditional_; }
  void to(const torch::Device& device) override { module_.to(device); }
  Json describe() const override { return identity_; }

 private:
  torch::jit::Module module_;
  std::string path_;
  Prediction prediction_;
  Json schedule_;
  int64_t channels_;
  bool conditional_;
  Json identity_;
  std::mutex mutex_;
};

std::string schema_text(const c10::FunctionSchema& s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

}  // namespace

BackbonePtr load_torchscript_backbone(const std::string& path, const Json& r, const std::string& device,
                                      const std::string& where) {
  if (path.empty()) throw ConfigError(where + ".path: the TorchScript file is not given");
  if (!std::filesystem::exists(path)) throw IoError(where + ".path: " + path + ": no such file");
  // A TorchScript file is code: a pinned file is checked before a byte of it is deserialised, and what
  // is loaded is exactly the bytes that were hashed.
  const std::string pin = parse_sha256_pin(r.value("sha256", std::string()), where + ".sha256");
  const VerifiedFile file = read_verified_file(path, pin, where + ".sha256");
  torch::jit::Module module;
  try {
    std::istringstream bytes(file.bytes);
    module = torch::jit::load(bytes, torch::Device(device));
  } catch (const c10::Error& e) {
    throw IoError(where + ".path: " + path + ": not a loadable TorchScript module (" +
                  std::string(e.what_without_backtrace()).substr(0, 300) + ")");
  }
  module.eval();
  auto method = module.find_method("forward");
  if (!method) throw ConfigError(where + ": " + path + " has no forward method; expected " + kSignature);
  const c10::FunctionSchema& schema = method->function().getSchema();
  const auto& args = schema.arguments();
  bool ok = args.size() == 4 && schema.returns().size() == 1 &&
            schema.returns()[0].type()->kind() == c10::TypeKind::TensorType;
  for (size_t i = 1; ok && i < args.size(); ++i) ok = args[i].type()->kind() == c10::TypeKind::TensorType;
  if (!ok)
    throw ConfigError(where + ": " + path + " has the wrong forward signature: found " + schema_text(schema) +
                      ", expected " + kSignature);

  std::string pred = r.at("prediction").get<std::string>();
  if (pred == "module") {
    if (!module.hasattr("prediction") || !module.attr("prediction").isString())
      throw ConfigError(where + ".prediction: " + path +
                        " has no string attribute 'prediction'; set backbone.prediction to eps, v or x0");
    pred = module.attr("prediction").toStringRef();
  }
  const Prediction prediction = parse_prediction(pred, where + ".prediction");
  bool conditional = r.at("conditional").get<bool>();
  if (module.hasattr("conditional") && module.attr("conditional").isBool()) conditional = module.attr("conditional").toBool();
  NoiseSchedule::from_config(r.at("schedule"), where + ".schedule");

  Json identity = r;
  identity["name"] = "torchscript";
  identity["prediction"] = to_string(prediction);
  identity["conditional"] = conditional;
  identity["weights_sha256"] = file.sha256;
  identity["signature"] = schema_text(schema);
  return std::make_shared<TorchScriptBackbone>(std::move(module), path, prediction, r.at("schedule"),
                                               r.at("channels").get<int64_t>(), conditional, identity);
}

BackboneRegistry::Entry torchscript_backbone_entry() {
  BackboneRegistry::Entry e;
  e.name = "torchscript";
  e.description = std::string("a user's denoiser as TorchScript: ") + kSignature;
  e.params = {
      {"path", "", "the TorchScript file", {}, {}},
      {"prediction", "module", "eps, v, x0, or module (the module's 'prediction' attribute)", {"module", "eps", "v", "x0"}, {}},
      {"schedule", Json::object(), "the training noise schedule {betas, beta_start, beta_end, num_train_timesteps}", {}, {}},
      {"channels", 3, "channels of the denoised space", {}, {}},
      {"conditional", false, "whether cond labels are used (a module attribute 'conditional' overrides)", {}, {}},
      {"sha256", "",
       "the file's pinned SHA-256 (all 64 hex digits, as sha256sum prints them): another file is refused before it "
       "is loaded; plan, run, cell and submit check it before any cell runs (not part of any cell's hash)",
       {}, {}},
  };
  e.make = [](const Params& p) -> BackboneBuilder {
    Json r = p.json();
    parse_sha256_pin(p.get<std::string>("sha256"), p.field("sha256"));  // bad input now, not at load
    r["schedule"] = resolve_params(r.at("schedule"), NoiseSchedule::params(), p.field("schedule"));
    const std::string where = p.path();
    return [r, where](const BackboneContext& ctx) {
      return load_torchscript_backbone(r.at("path").get<std::string>(), r, ctx.device, where);
    };
  };
  return e;
}

}  // namespace vdlab
