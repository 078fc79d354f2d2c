// The hook that places UniPC-Dynamic's edits in the sampling loop and measures them. The attenuation of
// an edit is measured as edit-probe measures a perturbation: the share of the edit delta that the next
// corrector removes along delta, undone = -<x_corrected - x_uncorrected, delta> / <delta, delta>
// (1: the corrector restores the unedited sample along delta; 0: it keeps the edit).
#include "methods/unipc_dynamic/motion_edit_hook.h"

#include <ATen/ATen.h>

#include <chrono>
#include <optional>

namespace vdlab::unipc_dynamic {

at::Tensor apply_edits(const at::Tensor& x, const std::vector<at::Tensor>& history, const EditSettings& s) {
  at::Tensor y = x;
  if (s.attention) y = half_frame_attention(y, history, s.attn);
  if (s.boost) y = write_back(y, boosted_motion(y, s.beta_pred, s.motion_scale), s.blend_weight, s.writeback);
  if (s.decomposition) y = write_back(y, decomposed_motion(y, s.decomposition_settings), s.blend_weight, s.writeback);
  if (s.sparse) y = sparse_tokens(y, s.sparse_threshold, s.sparse_gain);
  if (s.world) y = write_back(y, world_motion(y, s.depth_eps), s.blend_weight, s.writeback);
  return y;
}

namespace {

// Mean of the accumulated values per step; null where nothing was accumulated.
Json per_step_means(const std::vector<double>& sum, const std::vector<int64_t>& count) {
  Json out = Json::array();
  for (size_t i = 0; i < sum.size(); ++i) out.push_back(count[i] > 0 ? Json(sum[i] / static_cast<double>(count[i])) : Json());
  return out;
}

// Mean over the steps that have a value; null when none has.
Json mean_of_steps(const Json& steps) {
  double sum = 0;
  int64_t n = 0;
  for (const Json& v : steps)
    if (v.is_number()) {
      sum += v.get<double>();
      ++n;
    }
  return n > 0 ? Json(sum / static_cast<double>(n)) : Json();
}

class MotionEditHook : public StepHook {
 public:
  MotionEditHook(EditSettings s, Json settings) : s_(std::move(s)), settings_(std::move(settings)) {}

  void before_denoise(StepView& view) override {
    if (s_.place == "model_input") edit(view);
  }

  void after_step(StepView& view) override {
    if (s_.place == "model_input") return;
    edit(view);
    if (s_.place == "after_step_corrector_off" && s_.any()) view.corrector_next = false;
  }

  void after_corrector(StepView& view) override {
    if (!pending_.defined() || view.uncorrected == nullptr) return;
    const at::Tensor change = (view.sample - *view.uncorrected).to(at::kDouble);
    const double dd = pending_.pow(2).sum().item<double>();
    if (dd > 0) {
      const double removed = -(change * pending_).sum().item<double>();
      attenuation_sum_[static_cast<size_t>(pending_step_)] += removed / dd;
      ++attenuation_count_[static_cast<size_t>(pending_step_)];
      removed_total_ += removed;
      edit_energy_total_ += dd;
    }
    pending_ = at::Tensor();
  }

  int64_t history_length() const override {
    return s_.attention && s_.history == "trajectory" ? s_.window : 0;
  }

  Json stats() const override {
    Json out = {{"settings", settings_}, {"runs", runs_}};
    const Json norms = per_step_means(norm_sum_, norm_count_);
    const Json att = per_step_means(attenuation_sum_, attenuation_count_);
    out["edit_norm"] = norms;
    out["edit_norm_mean"] = mean_of_steps(norms);
    out["attenuation"] = att;
    out["attenuation_mean"] = mean_of_steps(att);
    out["attenuation_pooled"] = edit_energy_total_ > 0 ? Json(removed_total_ / edit_energy_total_) : Json();
    out["edit_seconds"] = edit_seconds_;
    return out;
  }

 private:
  void edit(StepView& view) {
    if (!s_.any()) return;
    const auto start = std::chrono::steady_clock::now();
    if (static_cast<int64_t>(norm_sum_.size()) < view.steps) {
      const size_t n = static_cast<size_t>(view.steps);
      norm_sum_.resize(n, 0.0);
      norm_count_.resize(n, 0);
      attenuation_sum_.resize(n, 0.0);
      attenuation_count_.resize(n, 0);
    }
    if (view.step == 0 || view.step < last_step_) ++runs_;
    last_step_ = view.step;
    std::vector<at::Tensor> history;
    if (s_.attention) {
      if (s_.history == "frames") {
        history = frame_history(view.sample, s_.window);
      } else if (view.sample_history) {
        // On the model input the newest post-step sample is the input itself: it is no history.
        for (const at::Tensor& h : *view.sample_history)
          if (!h.is_same(view.sample)) history.push_back(h);
      }
    }
    const at::Tensor edited = apply_edits(view.sample, history, s_);
    edit_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s_.measure) {
      view.sample = edited;
      return;
    }
    const at::Tensor delta = (edited - view.sample).to(at::kDouble);
    const size_t step = static_cast<size_t>(view.step);
    if (step < norm_sum_.size()) {
      norm_sum_[step] += delta.flatten(1).norm(2, 1).mean().item<double>();
      ++norm_count_[step];
    }
    pending_ = step < norm_sum_.size() ? delta : at::Tensor();
    pending_step_ = view.step;
    view.sample = edited;
  }

  EditSettings s_;
  Json settings_;
  at::Tensor pending_;  // the last edit (float64) until the next corrector measures it
  int64_t pending_step_ = 0, last_step_ = -1, runs_ = 0;
  std::vector<double> norm_sum_, attenuation_sum_;
  std::vector<int64_t> norm_count_, attenuation_count_;
  double removed_total_ = 0, edit_energy_total_ = 0, edit_seconds_ = 0;
};

// Parameter groups, each with the METHODS.md default.
// Where the edit goes and whether it is measured: every hook has these.
ParamSpecs place_specs() {
  return {{"place", "after_step",
           "where the edit is applied: after_step (the source's reading: after the step, before the next UniPC "
           "corrector), after_step_corrector_off (the same with the next corrector switched off), model_input "
           "(on the model input before each denoise call)",
           {"after_step", "after_step_corrector_off", "model_input"}, {}},
          {"measure", true, "measure each edit's norm and the share the next corrector undoes (false: only to time the edits)",
           {}, {}}};
}
ParamSpecs attention_specs() {
  return {{"window", 4, "history length K of the half-frame attention", {}, {}},
          {"history", "trajectory",
           "what the history is: trajectory (the last K post-step samples, as the source's code keeps them) or "
           "frames (the K preceding frames of the video)",
           {"trajectory", "frames"}, {}},
          {"overlap", 0.3, "the history's share in the overlap sample, times w", {}, {}},
          {"upper_blend", 0.4, "blend of the upper half (rows [0, H/2)), times w", {}, {}},
          {"lower_blend", 0.2, "blend of the lower half, times w", {}, {}},
          {"overlap_ratio", 0.5, "alpha_overlap in w_i = ((i+1)/K) (u + l)/2 alpha", {}, {}}};
}
ParamSpecs writeback_specs() {
  return {{"blend_weight", 0.08, "bw: x[f] <- (1 - bw) x[f] + bw (x[f-1] + M'[f])", {}, {}},
          {"writeback", "prev_frame",
           "the previous frame in the write-back: prev_frame (the unedited one) or chained (the one just written back)",
           {"prev_frame", "chained"}, {}}};
}
ParamSpecs boost_specs() {
  return {{"motion_scale", 1.08, "gamma: M_enh = gamma M_pred", {}, {}},
          {"beta_pred", 0.3, "M_pred = M + (M - M_prev) beta_pred", {}, {}}};
}
ParamSpecs decomposition_specs() {
  return {{"pool", 8, "avg-pool kernel over H and W for M_global (capped at the frame size)", {}, {}},
          {"object_gain", 1.2, "M_object = object_gain M_local", {}, {}},
          {"camera_gain", 0.8, "M_camera = camera_gain M_global", {}, {}},
          {"object_share", 0.7, "M_comb = object_share M_object + camera_share M_camera", {}, {}},
          {"camera_share", 0.3, "see object_share", {}, {}}};
}
ParamSpecs sparse_specs() {
  return {{"sparse_threshold", 1.2, "a token is salient when its norm exceeds this times the frame's mean norm", {}, {}},
          {"sparse_gain", 0.03, "salient tokens are multiplied by 1 + sparse_gain", {}, {}}};
}
ParamSpecs world_specs() {
  return {{"depth_eps", 1e-6, "eps of D = sqrt(gx^2 + gy^2 + eps) and of D_n's denominator", {}, {}}};
}

ParamSpecs join(std::initializer_list<ParamSpecs> groups) {
  ParamSpecs out;
  for (const ParamSpecs& g : groups) out.insert(out.end(), g.begin(), g.end());
  return out;
}

template <class T>
T value_or(const Params& p, const std::string& name, T fallback) {
  return p.json().contains(name) ? p.get<T>(name) : fallback;
}

StepHookPtr make_hook(const Params& p, EditSettings s) {
  return std::make_shared<MotionEditHook>(std::move(s), p.json());
}

}  // namespace

ParamSpecs unipc_dynamic_hook_specs() {
  ParamSpecs switches = {{"attention", true, "half-frame overlapping temporal attention", {}, {}},
                         {"boost", true, "stage 1: motion boost", {}, {}},
                         {"decomposition", true, "stage 2: motion decomposition", {}, {}},
                         {"sparse", true, "stage 2: sparse-token distillation", {}, {}},
                         {"world", false, "stage 3: world-space control", {}, {}}};
  return join({switches, place_specs(), attention_specs(), boost_specs(), writeback_specs(), decomposition_specs(),
               sparse_specs(), world_specs()});
}

EditSettings edit_settings_from(const Params& p) {
  EditSettings s;
  s.attention = value_or(p, "attention", s.attention);
  s.boost = value_or(p, "boost", s.boost);
  s.decomposition = value_or(p, "decomposition", s.decomposition);
  s.sparse = value_or(p, "sparse", s.sparse);
  s.world = value_or(p, "world", s.world);
  s.place = value_or(p, "place", s.place);
  s.measure = value_or(p, "measure", s.measure);
  s.history = value_or(p, "history", s.history);
  s.window = value_or(p, "window", s.window);
  s.attn.overlap = value_or(p, "overlap", s.attn.overlap);
  s.attn.upper = value_or(p, "upper_blend", s.attn.upper);
  s.attn.lower = value_or(p, "lower_blend", s.attn.lower);
  s.attn.alpha = value_or(p, "overlap_ratio", s.attn.alpha);
  s.motion_scale = value_or(p, "motion_scale", s.motion_scale);
  s.beta_pred = value_or(p, "beta_pred", s.beta_pred);
  s.blend_weight = value_or(p, "blend_weight", s.blend_weight);
  s.writeback = value_or(p, "writeback", s.writeback);
  DecompositionSettings& d = s.decomposition_settings;
  d.pool = value_or(p, "pool", d.pool);
  d.object_gain = value_or(p, "object_gain", d.object_gain);
  d.camera_gain = value_or(p, "camera_gain", d.camera_gain);
  d.object_share = value_or(p, "object_share", d.object_share);
  d.camera_share = value_or(p, "camera_share", d.camera_share);
  s.sparse_threshold = value_or(p, "sparse_threshold", s.sparse_threshold);
  s.sparse_gain = value_or(p, "sparse_gain", s.sparse_gain);
  s.depth_eps = value_or(p, "depth_eps", s.depth_eps);
  if (s.window < 1) p.fail("window", "must be at least 1, got " + std::to_string(s.window));
  if (d.pool < 1) p.fail("pool", "must be at least 1, got " + std::to_string(d.pool));
  if (!(s.blend_weight >= 0 && s.blend_weight <= 1)) p.fail("blend_weight", "must lie in [0, 1]");
  if (!(s.depth_eps > 0)) p.fail("depth_eps", "must be positive");
  return s;
}

void register_unipc_dynamic_hooks(HookRegistry& registry) {
  registry.add({"unipc-dynamic",
                "UniPC-Dynamic's edits (METHODS.md 2), each switchable: half-frame attention, motion boost, "
                "decomposition, sparse tokens, world-space; measures edit norm and corrector attenuation",
                unipc_dynamic_hook_specs(), [](const Params& p) { return make_hook(p, edit_settings_from(p)); }});
  auto single = [&registry](const std::string& name, const std::string& description, ParamSpecs specs,
                            bool EditSettings::*component) {
    const ParamSpecs place = place_specs();
    specs.insert(specs.end(), place.begin(), place.end());
    registry.add({name, description, specs, [component](const Params& p) {
                    EditSettings s = edit_settings_from(p);
                    s.*component = true;
                    return make_hook(p, s);
                  }});
  };
  single("half-frame-attention", "UniPC-Dynamic's half-frame overlapping temporal attention alone",
         attention_specs(), &EditSettings::attention);
  single("motion-boost", "UniPC-Dynamic's stage-1 motion boost alone", join({boost_specs(), writeback_specs()}),
         &EditSettings::boost);
  single("motion-decomposition", "UniPC-Dynamic's stage-2 motion decomposition alone",
         join({decomposition_specs(), writeback_specs()}), &EditSettings::decomposition);
  single("sparse-tokens", "UniPC-Dynamic's stage-2 sparse-token distillation alone", sparse_specs(),
         &EditSettings::sparse);
  single("world-space", "UniPC-Dynamic's stage-3 world-space control alone", join({world_specs(), writeback_specs()}),
         &EditSettings::world);
}

}  // namespace vdlab::unipc_dynamic
