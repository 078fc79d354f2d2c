#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/error.h"
#include "core/hash.h"
#include "methods/backbone/unet_backbone.h"
#include "methods/training/stages.h"
#include "runners/experiment.h"
#include "runners/test_method.h"
#include "runners/yaml_json.h"

namespace vdlab {
namespace {

// An analytic backbone keeps these tests free of training.
const char* kExperiment = R"(
name: planner
backbone: {name: diffusers-test}
dataset: {name: moving-shapes, split: test, clips: 4, frames: 4, size: 16}
variants:
  - {method: test-constant, value: [0.1, 0.2], steps: 10}
  - {method: test-constant, label: paired, zip: {value: [0.3, 0.4], steps: [5, 6]}}
  - {method: test-constant, noise: {name: ar1, rho: [0.4, 0.85]}, tags: [a, b]}
seeds: [0, 1]
)";

// The same experiment with keys reordered and another YAML style.
const char* kReordered = R"(
seeds:
  - 0
  - 1
variants:
  - steps: 10
    value: [0.1, 0.2]
    method: test-constant
  - zip: {steps: [5, 6], value: [0.3, 0.4]}
    label: paired
    method: test-constant
  - tags: [a, b]
    noise: {rho: [0.4, 0.85], name: ar1}
    method: test-constant
dataset: {size: 16, frames: 4, clips: 4, split: test, name: moving-shapes}
backbone:
  name: diffusers-test
name: planner
)";

std::map<std::string, std::string> hashes(const Experiment& e) {
  std::map<std::string, std::string> out;
  for (const auto& c : plan_cells(e)) out[c.label + "/" + std::to_string(c.seed)] = c.hash;
  return out;
}

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::register_test_method(); }
  Experiment parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
    return parse_experiment(parse_yaml(text, "test.yaml"), "test.yaml", overrides);
  }
};

TEST_F(PlannerTest, ListsExpandIntoGridsAndZipsPair) {
  const auto cells = plan_cells(parse(kExperiment));
  ASSERT_EQ(cells.size(), 12u);  // (2 + 2 + 2 variants) x 2 seeds
  std::vector<std::string> labels;
  for (const auto& c : cells)
    if (c.seed == 0) labels.push_back(c.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"test-constant-value=0.1", "test-constant-value=0.2",
                                              "paired-steps=5-value=0.3", "paired-steps=6-value=0.4",
                                              "test-constant-rho=0.4", "test-constant-rho=0.85"}));
  EXPECT_EQ(cells[4].config["variant"]["steps"], 5);
  EXPECT_EQ(cells[4].config["variant"]["value"], 0.3);
  // A list-typed parameter stays a list.
  EXPECT_EQ(cells[8].config["variant"]["tags"], (Json{"a", "b"}));
  EXPECT_EQ(cells[10].config["variant"]["noise"], (Json{{"name", "ar1"}, {"rho", 0.85}}));
}

TEST_F(PlannerTest, HashesIgnoreKeyOrderAndFormatting) {
  EXPECT_EQ(hashes(parse(kExperiment)), hashes(parse(kReordered)));
  // And the same file twice gives the same ids.
  const auto a = plan_cells(parse(kExperiment)), b = plan_cells(parse(kExperiment));
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].id, b[i].id);
}

TEST_F(PlannerTest, ChangingOneValueChangesExactlyTheCellsItTouches) {
  const auto before = hashes(parse(kExperiment));
  const auto after = hashes(parse(kExperiment, {"variants.2.noise.rho=[0.4, 0.9]"}));
  int changed = 0;
  for (const auto& kv : before) {
    if (!after.count(kv.first)) {
      ++changed;  // the rho=0.85 cells became rho=0.9 cells
      EXPECT_NE(kv.first.find("rho=0.85"), std::string::npos) << kv.first;
    } else {
      EXPECT_EQ(after.at(kv.first), kv.second) << kv.first;
    }
  }
  EXPECT_EQ(changed, 2);
  // A value changed inside every variant changes every cell.
  const auto all = hashes(parse(kExperiment, {"dataset.clips=5"}));
  for (const auto& kv : before) EXPECT_NE(all.at(kv.first), kv.second);
  // An override of a variant field reaches every variant, and an equal value changes nothing.
  EXPECT_EQ(hashes(parse(kExperiment, {"variants.0.steps=10"})), before);
}

TEST_F(PlannerTest, OverridesReachEveryVariant) {
  const auto cells = plan_cells(parse(kExperiment, {"steps=7", "seeds=[3]"}));
  for (const auto& c : cells) {
    EXPECT_EQ(c.config["variant"]["steps"], 7);
    EXPECT_EQ(c.seed, 3u);
  }
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(PlannerTest, BadInputNamesTheCulprit) {
  EXPECT_EQ(error_of([&] { parse("variants: [{method: test-constant}\nseeds: [0]\n"); }).substr(0, 14),
            "test.yaml:2:1:");
  EXPECT_EQ(error_of([&] { parse("variants: [{method: test-constant, vaule: 1}]"); }),
            "variants[0].vaule: unknown field (did you mean 'value'?)");
  EXPECT_EQ(error_of([&] { parse("variants: [{method: test-constant}]\nseed: [0]"); }),
            "test.yaml: seed: unknown field (did you mean 'seeds'?)");
  EXPECT_EQ(error_of([&] { parse("variants: [{method: test-constnt}]"); }),
            "variants[0].method: unknown method 'test-constnt' (did you mean 'test-constant'?)");
  EXPECT_EQ(error_of([&] { parse("variants: [{method: test-constant, noise: {name: ar2}}]"); }),
            "variants[0].noise: unknown noise init 'ar2' (did you mean 'ar1'?)");
  EXPECT_EQ(error_of([&] { parse("variants: [{method: test-constant, steps: ten}]"); }),
            "variants[0].steps: expected integer, got string \"ten\"");
  EXPECT_EQ(error_of([&] { parse("variants: [{method: test-constant, noise: {rho: high, name: ar1}}]"); }),
            "variants[0].noise.rho: expected number, got string \"high\"");
  EXPECT_EQ(error_of([&] { parse("dataset: {name: moving-shapes, clip: 3}\nvariants: [{method: test-constant}]"); })
                .substr(0, 49),
            "dataset.clip: unknown field (did you mean 'clips'");
}

// What generates the videos is the cell; metrics are scored on them and can be added later.
TEST_F(PlannerTest, MetricsAreNotPartOfTheCellHash) {
  const auto without = plan_cells(parse(kExperiment));
  const auto with = plan_cells(parse(kExperiment, {"metrics=[mm, {name: fvd, extractor: tiny-i3d}]"}));
  ASSERT_EQ(without.size(), with.size());
  for (std::size_t i = 0; i < with.size(); ++i) {
    EXPECT_EQ(with[i].hash, without[i].hash);
    EXPECT_EQ(with[i].id, without[i].id);
    EXPECT_FALSE(with[i].config.contains("metrics"));
    ASSERT_EQ(with[i].metrics.size(), 2u);
    EXPECT_EQ(with[i].metrics[1].at("extractor"), "tiny-i3d");
  }
}

TEST_F(PlannerTest, TorchscriptShorthandWorksInAnExperimentFile) {
  const std::string rest = "variants: [{method: test-constant}]\n";
  const Experiment shorthand = parse("backbone: {torchscript: /models/denoiser.pt, prediction: eps}\n" + rest);
  EXPECT_EQ(shorthand.backbone.at("name"), "torchscript");
  EXPECT_EQ(shorthand.backbone.at("path"), "/models/denoiser.pt");
  EXPECT_EQ(shorthand.backbone.at("prediction"), "eps");
  const Experiment long_form = parse("backbone: {name: torchscript, path: /models/denoiser.pt, prediction: eps}\n" + rest);
  EXPECT_EQ(hashes(shorthand), hashes(long_form));
  EXPECT_EQ(error_of([&] { parse("backbone: {torchscript: a.pt, path: b.pt}\n" + rest); }),
            "backbone.torchscript: given together with path");
}

// The README's rho-sweep example: 6 variants x 3 seeds, where the zipped (steps 20, order 2) point and
// the first variant are the same sampler.
TEST_F(PlannerTest, IdenticalCellsArePlannedOnce) {
  const Experiment e = parse(R"(
name: rho-sweep
backbone: {name: unet, preset: tiny, train: {steps: 3000, ptss_p: 0.0}}
dataset: {name: moving-shapes, split: test, clips: 256, frames: 16, size: 32}
variants:
  - {method: uniform, sampler: {name: unipc, order: 2, variant: bh2, steps: 20}}
  - {method: correlated-noise, noise: {rho: [0.4, 0.6, 0.85]}}
  - {method: uniform, zip: {sampler.steps: [10, 20], sampler.order: [1, 2]}}
seeds: [0, 1, 2]
metrics: [{name: fvd, extractor: tiny-i3d}, mm, stability]
)");
  EXPECT_EQ(e.variants.size() * e.seeds.size(), 18u);
  const auto cells = plan_cells(e);
  std::set<std::string> distinct;
  for (const auto& c : cells) distinct.insert(c.hash);
  EXPECT_EQ(distinct.size(), cells.size());
  EXPECT_EQ(cells.size(), 15u);
  std::size_t duplicates = 0;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(cells[i].index, i);
    duplicates += cells[i].duplicate_labels.size();
    if (!cells[i].duplicate_labels.empty()) {
      EXPECT_EQ(cells[i].duplicate_labels[0], "uniform-order=2-steps=20");
    }
  }
  EXPECT_EQ(duplicates, 3u);
  EXPECT_TRUE(e.train_dataset_defaulted);
  EXPECT_EQ(e.train_dataset.at("split"), "train");
}

// Values the registries reject and paths that do not exist fail the plan, before any backbone loads.
TEST_F(PlannerTest, ValidationRejectsBadValuesAndMissingPaths) {
  const std::string base = "backbone: {name: diffusers-test}\n"
                           "dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}\n"
                           "variants: [{method: uniform, sampler: {name: ddim, steps: 5}}]\n";
  EXPECT_NO_THROW(validate_experiment(parse(base)));
  EXPECT_EQ(error_of([&] { validate_experiment(parse(base, {"sampler.steps=-5"})); }),
            "variants[0].sampler.steps: must be at least 1, got -5");
  EXPECT_EQ(error_of([&] { validate_experiment(parse(base, {"variants.0.noise={name: ar1, rho: 1.5}"})); })
                .substr(0, 40),
            "variants[0].noise.rho: must lie in [0, 1");
  EXPECT_EQ(error_of([&] { validate_experiment(parse(base, {"dataset={name: video-folder, root: /no/such/folder}"})); }),
            "dataset.root: /no/such/folder: no such folder");
  EXPECT_EQ(error_of([&] { validate_experiment(parse(base, {"backbone={torchscript: /no/such/model.pt}"})); }),
            "backbone.path: /no/such/model.pt: no such file");
  EXPECT_EQ(error_of([&] { parse(base, {"generate.batch_size=0"}); }), "generate.batch_size: must be at least 1, got 0");
  // A missing folder is bad input (a ConfigError), like a bad value.
  EXPECT_THROW(validate_experiment(parse(base, {"dataset={name: video-folder, root: /no/such/folder}"})), ConfigError);
}

// A variant trained differently (FVDM's PTSS p, a loss weight) carries its own backbone block, merged
// over the experiment's; a list in it is a grid axis, and only that variant's cells change backbone.
TEST_F(PlannerTest, VariantBackboneMergesOverTheExperimentsAndExpandsLists) {
  const Experiment e = parse(R"(
backbone: {name: unet, preset: tiny, prediction: x0, train: {steps: 100, batch_size: 4}}
dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}
variants:
  - {method: uniform, label: base, sampler: {name: ddim, steps: 5}}
  - {method: uniform, label: ptss, sampler: {name: ddim, steps: 5}, backbone: {train: {ptss_p: [0.2, 0.5]}}}
seeds: [0]
)");
  const auto cells = plan_cells(e);
  ASSERT_EQ(cells.size(), 3u);
  EXPECT_EQ(cells[1].label, "ptss-ptss_p=0.2");
  EXPECT_EQ(cells[2].label, "ptss-ptss_p=0.5");
  const Json& base = cells[0].config.at("backbone");
  const Json& p02 = cells[1].config.at("backbone");
  EXPECT_EQ(base, e.backbone);
  EXPECT_EQ(p02.at("train").at("ptss_p"), 0.2);
  EXPECT_EQ(cells[2].config.at("backbone").at("train").at("ptss_p"), 0.5);
  // Everything the variant did not set is the experiment's.
  Json same = p02;
  same["train"]["ptss_p"] = base.at("train").at("ptss_p");
  EXPECT_EQ(same, base);
  // The method never sees the backbone block, and the cells' variants are the same but for the label.
  EXPECT_FALSE(method_config(e.variants[1]).contains("backbone"));
  EXPECT_EQ(cells[0].config.at("variant"), cells[1].config.at("variant"));
  EXPECT_EQ(distinct_backbones(e).size(), 3u);
  EXPECT_NO_THROW(validate_experiment(e));
  // Bad values inside the block are named by the variant.
  EXPECT_EQ(error_of([&] {
              parse("backbone: {name: unet, preset: tiny}\n"
                    "variants: [{method: uniform, backbone: {train: {no_such: 1}}}]\n");
            }).substr(0, 40),
            "variants[0].backbone.train.no_such: unkn");
  EXPECT_EQ(error_of([&] { parse("variants: [{method: uniform, backbone: 3}]\n"); }),
            "variants[0].backbone: expected a mapping of fields merged over the experiment's backbone");
  // Saved and read back, the same cells.
  const auto again = plan_cells(experiment_from_json(Json::parse(experiment_to_json(e).dump()), "experiment.json"));
  ASSERT_EQ(again.size(), cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) EXPECT_EQ(again[i].hash, cells[i].hash);
}

// Seed 002's ablations as grid axes: lambda (a loss term's weight inside the variant's backbone block)
// gives one stage-2 backbone per value over one shared stage 1; rho (the sampler's noise) is an axis of
// the method and trains nothing.
TEST_F(PlannerTest, LambdaAblationPlansOneStageTwoPerValueAndOneStageOne) {
  const Experiment e = parse(R"(
backbone: {name: unet, preset: tiny, prediction: x0, unet: {temporal_placement: cascaded},
           train: {image_pretrain_steps: 100, steps: 50, batch_size: 4, noise: {name: ar1, rho: 0.6}}}
dataset: {name: moving-shapes, split: test, clips: 2, frames: 4, size: 16}
variants:
  - {method: motion-adaptive, label: lambda, sampler: {name: ddim, steps: 5},
     backbone: {train: {loss: [{name: temporal_consistency, weight: [0.0, 2.0]}]}}}
  - {method: motion-adaptive, label: rho, sampler: {name: ddim, steps: 5}, noise: {name: ar1, rho: [0.4, 0.6, 0.85]},
     backbone: {train: {loss: [{name: temporal_consistency, weight: 2.0}]}}}
seeds: [0]
)");
  const auto cells = plan_cells(e);
  // rho 0.6 with lambda 2.0 is the cell lambda-weight=2.0 already plans: planned once.
  ASSERT_EQ(cells.size(), 4u);
  EXPECT_EQ(cells[0].label, "lambda-weight=0.0");
  EXPECT_EQ(cells[1].label, "lambda-weight=2.0");
  EXPECT_EQ(cells[0].config.at("backbone").at("train").at("loss")[0].at("weight"), 0.0);
  EXPECT_EQ(cells[1].config.at("backbone").at("train").at("loss")[0].at("weight"), 2.0);
  EXPECT_EQ(cells[2].config.at("variant").at("noise").at("rho"), 0.4);
  EXPECT_EQ(cells[3].config.at("variant").at("noise").at("rho"), 0.85);
  // Two stage-2 backbones (lambda 0 and 2; the rho cells share lambda 2's), one stage 1 under all.
  std::set<std::string> stage2, stage1;
  for (const auto& [backbone, labels] : distinct_backbones(e)) {
    Json given = backbone;
    given.erase("name");
    const Json resolved = resolve_unet_backbone_params(given);
    stage2.insert(config_hash(resolved));
    stage1.insert(config_hash(image_stage_identity(resolved, Json{{"name", "moving-shapes"}}, 0)));
  }
  std::set<std::string> cell_backbones;
  for (const auto& c : cells) cell_backbones.insert(config_hash(c.config.at("backbone")));
  EXPECT_EQ(cell_backbones.size(), 2u);
  EXPECT_EQ(stage2.size(), 2u);
  EXPECT_EQ(stage1.size(), 1u);
  EXPECT_NO_THROW(validate_experiment(e));
}

TEST_F(PlannerTest, SavedExperimentPlansTheSameCells) {
  const Experiment e = parse(kExperiment, {"steps=7", "seeds=[3, 4]", "metrics=[mm]"});
  const Experiment back = experiment_from_json(Json::parse(experiment_to_json(e).dump()), "experiment.json");
  const auto a = plan_cells(e), b = plan_cells(back);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].hash, b[i].hash);
    EXPECT_EQ(a[i].metrics, b[i].metrics);
  }
  EXPECT_EQ(error_of([&] { experiment_from_json(Json{{"name", "x"}}, "other.json"); }),
            "other.json: not a resolved experiment saved by vdlab run or vdlab plan");
}

}  // namespace
}  // namespace vdlab
