// Dr.Mo denoising reuse (seed 001, METHODS.md 3) over the one generation pipeline.
//
// The backbone is run as a frame-wise generator in its cost accounting: every network evaluation of one
// frame counts once for that frame (full denoising costs frames x steps). Per batch:
//   1. the reference frames (the first R of the clip) are denoised as a clip of their own, fully (every
//      step evaluates them), their samples at every step boundary recorded;
//   2. per step, the motion matrix between the last two references (from their latent residuals, or from
//      decoder features at chosen sites) and the transformation error of moving one's residual onto the
//      other's;
//   3. the switch step: fixed (switch_t, the source's t*), the DSS rule t* = argmin log(beta t) e_t, or the
//      learned recurrent selector (learned_selector.h) trained on trajectories of the training split;
//   4. the other frames' latents at the switch step are propagated from the last reference's latent there:
//      the surrogate transition (the mean motion matrix over the steps before the switch, sharpened) is
//      composed once per frame further on (frame R + k gets P^(k+1): constant motion, the composition rule);
//   5. the whole clip is denoised from the switch step on (the pipeline's start point), the references
//      continuing from their own samples there.
// With the switch at the first step nothing is reused: the batch is the pipeline's own run, bitwise.
#include "methods/drmo/drmo.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>

#include "core/error.h"
#include "datasets/clip_source.h"
#include "methods/drmo/feature_tapping_backbone.h"
#include "methods/drmo/learned_selector.h"
#include "methods/drmo/motion_matrix.h"
#include "methods/drmo/nmi_curve.h"
#include "methods/drmo/nmi_hook.h"
#include "methods/drmo/step_selector.h"
#include "methods/drmo/trajectory_recorder.h"
#include "methods/hooks/hook_registry.h"
#include "methods/method.h"
#include "methods/pipeline/pipeline.h"

namespace vdlab {

namespace {

struct DrmoOptions {
  double switch_t = 200;
  std::string selector = "fixed";  // fixed | rule | learned
  int64_t references = 2;
  std::string motion_source = "residual";  // residual | features
  std::vector<std::string> taps;
  int64_t patch = 4;
  double temperature = 0.05;
  double beta = std::exp(1.0);
  std::vector<std::pair<int64_t, int64_t>> nmi_pairs;
  NmiBinning binning;
  Json selector_data;
  LearnedSelectorOptions learned;
};

std::string pair_key(int64_t i, int64_t j) { return std::to_string(i) + "-" + std::to_string(j); }

// What the reference run says about each video: per step the motion matrix of the last reference pair,
// the transformation error of their residuals under it, and the NMI to the next step's matrix.
struct ReferenceAnalysis {
  std::vector<at::Tensor> matrices;            // per step [B, n, n]
  std::vector<std::vector<double>> errors;     // [video][step]
  std::vector<std::vector<double>> nmi_next;   // [video][step - 1]
  int64_t latent_patch = 1;                    // patch of the latent tokens the matrices act on
};

std::vector<double> column(const at::Tensor& v) {
  const at::Tensor c = v.to(at::kCPU).to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

ReferenceAnalysis analyse_references(const DrmoOptions& o, const std::vector<at::Tensor>& states,
                                     const std::vector<std::map<std::string, torch::Tensor>>& features, int64_t videos) {
  ReferenceAnalysis a;
  const int64_t steps = int64_t(states.size()) - 1;
  const int64_t r = o.references;
  a.errors.assign(size_t(videos), {});
  a.nmi_next.assign(size_t(videos), {});
  const bool from_features = o.motion_source == "features";
  if (from_features && int64_t(features.size()) != steps)
    throw ConfigError("drmo: motion_source features needs one network call per step (got " +
                      std::to_string(features.size()) + " calls for " + std::to_string(steps) + " steps): use ddim or ddpm");
  for (int64_t k = 0; k < steps; ++k) {
    const at::Tensor dz = states[size_t(k + 1)] - states[size_t(k)];  // [B, C, R, H, W]
    const at::Tensor src = dz.select(2, r - 2), dst = dz.select(2, r - 1);
    at::Tensor m;
    int64_t patch = o.patch;
    if (from_features) {
      at::Tensor sum;
      for (const auto& site : o.taps) {
        at::Tensor f = features[size_t(k)].at(site);
        if (f.size(0) == 2 * videos) f = f.narrow(0, 0, videos);  // the conditional half of a guided call
        const at::Tensor fm = motion_matrix(f.select(2, r - 2), f.select(2, r - 1), 1);
        if (sum.defined() && !sum.sizes().equals(fm.sizes()))
          throw ConfigError("drmo: taps: every site must have one grid (" + o.taps.front() + " and " + site + " differ)");
        sum = sum.defined() ? sum + fm : fm;
        if (src.size(2) % f.size(3) != 0) throw ConfigError("drmo: tap " + site + "'s grid does not divide the latent");
        patch = src.size(2) / f.size(3);
      }
      m = sum / double(o.taps.size());
    } else {
      m = motion_matrix(src, dst, patch);
    }
    a.latent_patch = patch;
    const at::Tensor e = transformation_error(src, dst, transition_matrix(m, o.temperature), patch);
    const std::vector<double> ev = column(e);
    for (int64_t v = 0; v < videos; ++v) a.errors[size_t(v)].push_back(ev[size_t(v)]);
    a.matrices.push_back(m);
  }
  for (int64_t v = 0; v < videos; ++v) {
    std::vector<at::Tensor> per_video;
    for (const auto& m : a.matrices) per_video.push_back(m.select(0, v));
    a.nmi_next[size_t(v)] = nmi_curves(per_video, o.binning).next;
  }
  return a;
}

// The selector's inputs for one video: per step {error, NMI to the next step (0 at the last), t / T}.
std::vector<std::vector<double>> selector_inputs(const ReferenceAnalysis& a, int64_t video,
                                                 const std::vector<double>& timesteps) {
  std::vector<std::vector<double>> out;
  const double T = timesteps.front() + 1.0;
  const auto& e = a.errors[size_t(video)];
  const auto& n = a.nmi_next[size_t(video)];
  for (size_t k = 0; k < e.size(); ++k)
    out.push_back({e[k], k < n.size() ? n[k] : 0.0, (timesteps[k] + 1.0) / T});
  return out;
}

// The videos `index` of a job (noise, conditioning), as a job of their own.
BatchJob slice_job(const BatchJob& job, const std::vector<int64_t>& index) {
  BatchJob s = job;
  const at::Tensor idx = at::tensor(index, at::kLong).to(job.noise.device());
  s.size = int64_t(index.size());
  s.noise = job.noise.index_select(0, idx);
  if (job.cond.labels.defined()) s.cond.labels = job.cond.labels.index_select(0, idx.to(job.cond.labels.device()));
  if (!job.cond.captions.empty()) {
    s.cond.captions.clear();
    for (int64_t i : index) s.cond.captions.push_back(job.cond.captions[size_t(i)]);
  }
  if (job.clean.defined()) s.clean = job.clean.index_select(0, idx);
  if (job.pinned.defined()) s.pinned = job.pinned.index_select(0, idx.to(job.pinned.device()));
  if (job.frame_timesteps.defined()) s.frame_timesteps = job.frame_timesteps.index_select(1, idx.to(at::kCPU));
  if (job.start_latent.defined()) s.start_latent = job.start_latent.index_select(0, idx);
  return s;
}

class DrmoMethod : public Method {
 public:
  DrmoMethod(PipelineParts parts, DrmoOptions options) : parts_(std::move(parts)), o_(std::move(options)) {}

  GenerateResult generate(Backbone& backbone, const GenerateRequest& req) override {
    at::NoGradGuard no_grad;
    FeatureTappingBackbone tapped(backbone, o_.motion_source == "features" ? o_.taps : std::vector<std::string>{});
    Json selector_stats = Json::object();
    std::shared_ptr<LearnedSelector> learned;
    if (o_.selector == "learned") learned = train_selector(tapped, req, selector_stats);

    const auto t0 = std::chrono::steady_clock::now();
    Totals totals;
    GenerationPipeline pipeline(parts_);
    pipeline.run_batch = [&](BatchJob& job, const BatchRunner& run) {
      return run_batch(job, run, tapped, learned.get(), totals);
    };
    GenerateResult result = pipeline.generate(tapped, req);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const int64_t frames = req.frames, steps = int64_t(totals.timesteps.size());
    Json d = {{"selector", o_.selector},
              {"switch_t", o_.switch_t},
              {"references", o_.references},
              {"motion_source", o_.motion_source},
              {"patch", o_.patch},
              {"temperature", o_.temperature},
              {"beta", o_.beta},
              {"future", "compose"},
              {"steps", steps},
              {"switch_steps", totals.switch_steps},
              {"switch_t_chosen", totals.switch_t_chosen},
              {"frame_evaluations", totals.frame_evaluations},
              {"seconds", seconds},
              {"seconds_per_video", seconds / double(req.count)}};
    const double per_frame = double(totals.frame_evaluations) / double(req.count * frames);
    d["nfe_per_frame"] = per_frame;
    d["baseline_nfe_per_frame"] = steps;
    d["nfe_speedup"] = per_frame > 0 ? double(steps) / per_frame : 0.0;
    d["switch_step_mean"] = mean(totals.switch_steps);
    d["switch_t_mean"] = mean(totals.switch_t_chosen);
    std::vector<double> t_axis;
    for (double t : totals.timesteps) t_axis.push_back(t + 1.0);
    d["t"] = t_axis;
    d["t_next"] = std::vector<double>(t_axis.begin() + (t_axis.empty() ? 0 : 1), t_axis.end());
    Json nmi = Json::object();
    for (const auto& [key, c] : totals.nmi) {
      const std::vector<double> next = c.first.mean();
      nmi[key] = {{"next", next}, {"to_last", c.second.mean()}, {"videos", c.first.count()}};
      // The source's phases (Figure 1): early t > 800, middle 200 < t <= 800, late t <= 200; each
      // consecutive-step NMI is placed at the later step's t.
      std::map<std::string, std::vector<double>> phase;
      for (size_t k = 0; k < next.size() && k + 1 < t_axis.size(); ++k) {
        const double t = t_axis[k + 1];
        phase[t > 800 ? "early" : t > 200 ? "middle" : "late"].push_back(next[k]);
      }
      for (const char* name : {"early", "middle", "late"})
        nmi[key][std::string("next_") + name] = phase.count(name) ? Json(mean(phase[name])) : Json();
    }
    d["nmi"] = nmi;
    if (totals.ref_errors.count() > 0) {
      d["reference_errors"] = totals.ref_errors.mean();
      d["reference_nmi_next"] = totals.ref_nmi.mean();
    }
    if (totals.rule_checked > 0) {
      selector_stats["test_videos"] = totals.rule_checked;
      selector_stats["test_agreement_with_rule"] = double(totals.rule_agree) / double(totals.rule_checked);
    }
    if (!selector_stats.empty()) d["selector_report"] = selector_stats;
    result.stats["drmo"] = d;
    return result;
  }

 private:
  struct Totals {
    std::vector<double> timesteps;
    std::vector<int64_t> switch_steps;
    std::vector<double> switch_t_chosen;
    int64_t frame_evaluations = 0;
    std::map<std::string, std::pair<CurveMean, CurveMean>> nmi;
    CurveMean ref_errors, ref_nmi;
    int64_t rule_checked = 0, rule_agree = 0;
  };

  static double mean(const std::vector<double>& v) {
    return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  }
  static double mean(const std::vector<int64_t>& v) {
    return v.empty() ? 0.0 : double(std::accumulate(v.begin(), v.end(), int64_t(0))) / double(v.size());
  }

  // NMI curves of the listed frame pairs over a run that denoised every frame at every step.
  void record_pairs(const std::vector<at::Tensor>& states, Totals& totals) const {
    const int64_t frames = states.front().size(2), videos = states.front().size(0);
    for (const auto& [i, j] : o_.nmi_pairs) {
      if (i >= frames || j >= frames) continue;
      auto& acc = totals.nmi[pair_key(i, j)];
      for (int64_t v = 0; v < videos; ++v) {
        const NmiCurves c = residual_nmi_curves(states, v, i, j, o_.patch, o_.binning);
        acc.first.add(c.next);
        acc.second.add(c.to_last);
      }
    }
  }

  at::Tensor run_batch(BatchJob& job, const BatchRunner& run, FeatureTappingBackbone& tapped,
                       const LearnedSelector* learned, Totals& totals) const {
    const int64_t steps = int64_t(job.timesteps.size()), frames = job.noise.size(2), b = job.size;
    const int64_t r = o_.references;
    totals.timesteps = job.timesteps;
    if (o_.selector == "fixed" && fixed_switch_step(job.timesteps, o_.switch_t) == 0) {
      // No reuse: every frame is denoised at every step; the pipeline's own run, observed only.
      auto rec = std::make_shared<TrajectoryRecorder>(job.noise);
      BatchJob full = job;
      full.hooks.push_back(rec);
      const at::Tensor out = run(full);
      record_pairs(rec->states(), totals);
      totals.frame_evaluations += rec->frame_evaluations();
      for (int64_t v = 0; v < b; ++v) totals.switch_steps.push_back(0), totals.switch_t_chosen.push_back(job.timesteps[0] + 1);
      return out;
    }
    if (r < 2 || r >= frames)
      throw ConfigError("drmo: references must be at least 2 and fewer than the clip's " + std::to_string(frames) + " frames");

    // 1. The reference frames, as a clip of their own.
    const int64_t fixed_step = o_.selector == "fixed" ? fixed_switch_step(job.timesteps, o_.switch_t) : -1;
    BatchJob ref = job;
    ref.noise = job.noise.narrow(2, 0, r).contiguous();
    ref.stop_step = fixed_step > 0 ? fixed_step : -1;
    auto ref_rec = std::make_shared<TrajectoryRecorder>(ref.noise);
    ref.hooks.push_back(ref_rec);
    tapped.set_recording(true);
    run(ref);
    tapped.set_recording(false);
    totals.frame_evaluations += ref_rec->frame_evaluations();
    const std::vector<at::Tensor>& states = ref_rec->states();

    // 2. Motion between the last two references, per step.
    const ReferenceAnalysis a = analyse_references(o_, states, tapped.take_recorded(), b);
    for (int64_t v = 0; v < b; ++v) {
      totals.ref_errors.add(a.errors[size_t(v)]);
      totals.ref_nmi.add(a.nmi_next[size_t(v)]);
    }

    // 3. The switch step of each video.
    std::map<int64_t, std::vector<int64_t>> groups;
    for (int64_t v = 0; v < b; ++v) {
      int64_t k = fixed_step;
      if (o_.selector != "fixed") {
        const int64_t rule = rule_switch_step(job.timesteps, a.errors[size_t(v)], o_.beta);
        k = rule;
        if (learned) {
          k = learned->predict(selector_inputs(a, v, job.timesteps));
          ++totals.rule_checked;
          totals.rule_agree += k == rule ? 1 : 0;
        }
      }
      groups[k].push_back(v);
      totals.switch_steps.push_back(k);
      totals.switch_t_chosen.push_back(job.timesteps[size_t(k)] + 1.0);
    }

    // 4-5. Propagate to the switch step, then denoise every frame from there.
    std::vector<at::Tensor> outputs(static_cast<size_t>(b));
    for (const auto& [k, videos] : groups) {
      BatchJob sub = slice_job(job, videos);
      auto counter = std::make_shared<TrajectoryRecorder>(at::Tensor(), false);
      sub.hooks.push_back(counter);
      if (k > 0) {
        const at::Tensor idx = at::tensor(videos, at::kLong).to(job.noise.device());
        const at::Tensor refs = states[size_t(k)].index_select(0, idx);  // [n, C, R, H, W] at the switch step
        at::Tensor mean_m;
        for (int64_t s = 0; s < k; ++s) {
          const at::Tensor m = a.matrices[size_t(s)].index_select(0, idx.to(a.matrices[size_t(s)].device()));
          mean_m = mean_m.defined() ? mean_m + m : m;
        }
        const at::Tensor p = transition_matrix(mean_m / double(k), o_.temperature);
        std::vector<at::Tensor> parts = {refs};
        at::Tensor current = refs.select(2, r - 1);
        for (int64_t f = r; f < frames; ++f) {
          current = transform(current, p, a.latent_patch);  // frame r + j: P^(j + 1) applied to the last reference
          parts.push_back(current.unsqueeze(2));
        }
        sub.start_latent = at::cat(parts, 2).contiguous();
        sub.start_step = k;
      }
      const at::Tensor out = run(sub);
      totals.frame_evaluations += counter->frame_evaluations();
      for (size_t i = 0; i < videos.size(); ++i) outputs[size_t(videos[i])] = out.select(0, int64_t(i));
    }
    (void)steps;
    return at::stack(outputs);
  }

  // Trajectories of the reference frames for the training split's captions, the rule's switch step for
  // each, and the selector trained on them.
  std::shared_ptr<LearnedSelector> train_selector(FeatureTappingBackbone& tapped, const GenerateRequest& req,
                                                  Json& stats) const {
    const auto t0 = std::chrono::steady_clock::now();
    const ClipSourcePtr split = make_dataset(o_.selector_data, "selector_data");
    GenerateRequest train;
    train.count = int64_t(split->size());
    train.frames = o_.references;
    train.height = req.height;
    train.width = req.width;
    train.batch_size = req.batch_size;
    train.seed = req.seed + 0x5eed;
    train.device = req.device;
    for (size_t i = 0; i < split->size(); ++i) {
      const Clip c = split->get(i);
      if (!req.captions.empty()) train.captions.push_back(c.caption);
      if (!req.labels.empty()) train.labels.push_back(c.label);
    }
    std::vector<SelectorExample> examples;
    std::vector<double> timesteps;
    GenerationPipeline pipeline(parts_);
    pipeline.run_batch = [&](BatchJob& job, const BatchRunner& run) {
      auto rec = std::make_shared<TrajectoryRecorder>(job.noise);
      BatchJob ref = job;
      ref.hooks.push_back(rec);
      tapped.set_recording(true);
      const at::Tensor out = run(ref);
      tapped.set_recording(false);
      const ReferenceAnalysis a = analyse_references(o_, rec->states(), tapped.take_recorded(), job.size);
      timesteps = job.timesteps;
      for (int64_t v = 0; v < job.size; ++v)
        examples.push_back({selector_inputs(a, v, job.timesteps), rule_switch_step(job.timesteps, a.errors[size_t(v)], o_.beta)});
      return out;
    };
    pipeline.generate(tapped, train);
    LearnedSelectorOptions lo = o_.learned;
    lo.seed = req.seed;
    auto [selector, report] = LearnedSelector::train(examples, int64_t(timesteps.size()), lo);
    std::vector<int64_t> labels;
    for (const auto& e : examples) labels.push_back(e.label);
    stats = report.to_json();
    stats["trajectories"] = int64_t(examples.size());
    stats["rule_steps_of_trajectories"] = labels;
    stats["data"] = split->describe();
    stats["seconds_with_trajectories"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return selector;
  }

  PipelineParts parts_;
  DrmoOptions o_;
};

}  // namespace

void register_drmo_method() {
  static bool done = false;
  if (done) return;
  done = true;
  register_nmi_hook(hook_registry());
  ParamSpecs specs = pipeline_param_specs(Json{{"name", "ddim"}, {"steps", 20}}, Json{{"name", "iid"}});
  specs.push_back({"switch_t", 200.0,
                   "the switch point t* on the source's 1..T scale (model timestep + 1): frames after the references "
                   "are propagated down to t* and denoised from there; 1000 (or above the first step) = no reuse",
                   {}, {}});
  specs.push_back({"selector", "fixed", "how t* is chosen: fixed (switch_t), rule (argmin log(beta t) e_t) or learned (a GRU)",
                   {"fixed", "rule", "learned"}, {}});
  specs.push_back({"references", 2, "reference frames at the clip's start, denoised fully", {}, {}});
  specs.push_back({"motion_source", "residual", "what motion matrices are built from: latent residuals or decoder features",
                   {"residual", "features"}, {}});
  specs.push_back({"taps", Json::array({"up0"}), "decoder sites (motion_source features); one grid for all", {}, {}});
  specs.push_back({"patch", 4, "latent residual tokens are p x p patches (1: one token per position)", {}, {}});
  specs.push_back({"temperature", 0.05, "softmax sharpening of the transition over source tokens (0: the raw cosine matrix)",
                   {}, {}});
  specs.push_back({"beta", std::exp(1.0), "the rule's beta: t* = argmin log(beta t) e_t (beta t > 1 at every step)", {}, {}});
  specs.push_back({"future", "compose",
                   "future frames' transitions from the last reference pair: compose (frame R + j gets P^(j+1))",
                   {"compose"}, {}});
  specs.push_back({"nmi_pairs", Json::array({Json::array({0, 1}), Json::array({0, 4}), Json::array({0, 8})}),
                   "frame pairs whose per-step NMI curves a run without reuse records (pairs beyond the clip are left out)",
                   {}, {}});
  specs.push_back({"nmi_bins", 64, "NMI: equal-width bins over [-1, 1]", {}, {}});
  specs.push_back({"selector_data", Json{{"name", "moving-shapes"}, {"split", "train"}, {"clips", 32}, {"frames", 8}, {"size", 32}},
                   "learned selector: the split whose captions give the training trajectories (reference frames only)",
                   {}, {}});
  specs.push_back({"selector_epochs", 300, "learned selector: full-batch Adam steps", {}, {}});
  specs.push_back({"selector_hidden", 32, "learned selector: GRU width", {}, {}});
  specs.push_back({"selector_mask", 0.3, "learned selector: probability of masking an input step in training", {}, {}});
  specs.push_back({"selector_heldout", 0.25, "learned selector: share of trajectories held out for its accuracy", {}, {}});
  method_registry().add(
      {"drmo",
       "Dr.Mo (seed 001): reference frames denoised fully, the others propagated by motion matrices down to a "
       "switch point t* (fixed, the DSS rule, or a learned GRU selector) and denoised from there",
       specs, [](const Params& p) -> MethodPtr {
         DrmoOptions o;
         o.switch_t = p.get<double>("switch_t");
         o.selector = p.get<std::string>("selector");
         o.references = p.get<int64_t>("references");
         o.motion_source = p.get<std::string>("motion_source");
         o.taps = p.get<std::vector<std::string>>("taps");
         o.patch = p.get<int64_t>("patch");
         o.temperature = p.get<double>("temperature");
         o.beta = p.get<double>("beta");
         o.binning.bins = p.get<int>("nmi_bins");
         o.selector_data = p.at("selector_data");
         o.learned.epochs = p.get<int64_t>("selector_epochs");
         o.learned.hidden = p.get<int64_t>("selector_hidden");
         o.learned.mask = p.get<double>("selector_mask");
         o.learned.heldout = p.get<double>("selector_heldout");
         for (const auto& pr : p.at("nmi_pairs")) {
           if (!pr.is_array() || pr.size() != 2 || !pr[0].is_number_integer() || !pr[1].is_number_integer())
             p.fail("nmi_pairs", "each pair is [i, j] with frame indices");
           o.nmi_pairs.emplace_back(pr[0].get<int64_t>(), pr[1].get<int64_t>());
         }
         if (!(o.switch_t >= 1)) p.fail("switch_t", "must be at least 1 (the last step)");
         if (o.references < 2) p.fail("references", "must be at least 2 (motion needs a pair)");
         if (o.patch < 1) p.fail("patch", "must be at least 1");
         if (o.temperature < 0) p.fail("temperature", "must be 0 (none) or positive");
         if (!(o.beta > 1)) p.fail("beta", "must exceed 1 so that log(beta t) > 0 at t = 1");
         if (o.motion_source == "features" && o.taps.empty()) p.fail("taps", "name at least one decoder site");
         if (o.binning.bins < 1) p.fail("nmi_bins", "must be at least 1");
         if (o.learned.epochs < 1) p.fail("selector_epochs", "must be at least 1");
         if (!(o.learned.heldout > 0 && o.learned.heldout < 1)) p.fail("selector_heldout", "must lie in (0, 1)");
         return std::make_shared<DrmoMethod>(pipeline_parts(p), std::move(o));
       }});
}

}  // namespace vdlab
