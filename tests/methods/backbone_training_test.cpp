// Backbone training: resume, NaN guard, signals, curves, the checkpoint cache and its lock, and the
// kill-and-resume integration test (a real SIGKILL of a child process).
#include <H5Cpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "backbone_test_support.h"
#include "core/error.h"
#include "methods/backbone/file_lock.h"
#include "methods/backbone/register_backbones.h"
#include "methods/backbone/training.h"
#include "methods/backbone/unet_backbone.h"
#include "methods/schedules/noise_schedule.h"

namespace vdlab {
namespace {

namespace fs = std::filesystem;

std::string fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("vdlab-backbone-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

TrainConfig small_recipe() {
  TrainConfig c;
  c.image_pretrain_steps = 4;
  c.steps = 6;
  c.batch_size = 2;
  c.lr = 2e-3;
  c.warmup_steps = 3;
  c.ptss_p = 0.5;
  c.checkpoint_every = 2;
  c.noise = Json{{"name", "ar1"}, {"rho", 0.6}};
  return c;
}

struct TrainedPair {
  VideoUNet model{nullptr}, ema{nullptr};
  TrainResult result;
};

TrainedPair train_in(const std::string& dir, const TrainConfig& cfg,
             std::function<void(int64_t, double)> after_step = nullptr, int threads = 1) {
  testing::MovingSquares data(6, 4, 8);
  auto cfgu = testing::micro_unet();
  cfgu.conditioning = "class";
  cfgu.num_classes = 2;
  torch::manual_seed(3);
  TrainedPair r{VideoUNet(cfgu), VideoUNet(cfgu), {}};
  TrainOptions o;
  o.dir = dir;
  o.threads = threads;  // fixed, for bitwise comparisons (one: fast on a busy machine)
  o.seed = 11;
  o.after_step = std::move(after_step);
  r.result = train_unet(r.model, r.ema, data, Prediction::eps, NoiseSchedule::linear().alphas_cumprod, cfg, o);
  return r;
}

void expect_bitwise_equal(const VideoUNet& a, const VideoUNet& b) {
  auto pa = a->named_parameters();
  auto pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << item.key();
}

TEST(BackboneTraining, ResumeAfterACrashIsBitwiseEqual) {
  const auto cfg = small_recipe();
  TrainedPair full = train_in(fresh_dir("full"), cfg);
  EXPECT_EQ(full.result.steps_done, 10);
  EXPECT_EQ(full.result.resumed_from, 0);

  const std::string dir = fresh_dir("crash");
  EXPECT_THROW(train_in(dir, cfg, [](int64_t step, double) {
                 if (step == 7) throw std::runtime_error("simulated crash");
               }),
               std::runtime_error);
  TrainedPair resumed = train_in(dir, cfg);
  EXPECT_EQ(resumed.result.resumed_from, 6);
  expect_bitwise_equal(full.model, resumed.model);
  expect_bitwise_equal(full.ema, resumed.ema);
  // Stage 2 froze the spatial part: weights that differ from the stage-1 end are temporal only.
}

// A run stopped at step 7 of 10 (checkpoints every 2: checkpoint.pt holds step 6, checkpoint.prev.pt
// step 4), whose checkpoint files are then damaged by `damage`; the resumed run's log.
struct DamagedResume {
  TrainedPair resumed;
  std::string log;
  std::string dir;
};
DamagedResume resume_after_damage(const std::string& name, const std::function<void(const std::string&)>& damage) {
  DamagedResume r;
  r.dir = fresh_dir(name);
  EXPECT_THROW(train_in(r.dir, small_recipe(), [](int64_t step, double) {
                 if (step == 7) throw std::runtime_error("simulated crash");
               }),
               std::runtime_error);
  EXPECT_TRUE(fs::exists(r.dir + "/checkpoint.prev.pt"));
  damage(r.dir);
  ::testing::internal::CaptureStderr();
  r.resumed = train_in(r.dir, small_recipe());
  r.log = ::testing::internal::GetCapturedStderr();
  return r;
}

int count_lines_with(const std::string& text, const std::string& what) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.find(what) != std::string::npos;
  return n;
}

TEST(BackboneCheckpointDamage, TruncatedCheckpointResumesFromThePreviousOneBitwise) {
  TrainedPair full = train_in(fresh_dir("damage-full"), small_recipe());
  const DamagedResume r = resume_after_damage("damage-truncated", [](const std::string& dir) {
    fs::resize_file(dir + "/checkpoint.pt", fs::file_size(dir + "/checkpoint.pt") / 2);
  });
  EXPECT_EQ(r.resumed.result.resumed_from, 4);
  EXPECT_EQ(count_lines_with(r.log, "backbone training: " + r.dir + "/checkpoint.pt is unreadable ("), 1) << r.log;
  EXPECT_EQ(count_lines_with(r.log, "; resuming from the previous checkpoint " + r.dir + "/checkpoint.prev.pt at step 4/10"), 1)
      << r.log;
  EXPECT_TRUE(fs::exists(r.dir + "/checkpoint.pt.corrupt"));
  expect_bitwise_equal(full.model, r.resumed.model);
  expect_bitwise_equal(full.ema, r.resumed.ema);
}

TEST(BackboneCheckpointDamage, BothCheckpointsDamagedTrainsFromScratchSayingSo) {
  TrainedPair full = train_in(fresh_dir("damage-full3"), small_recipe());
  const DamagedResume r = resume_after_damage("damage-both", [](const std::string& dir) {
    std::ofstream(dir + "/checkpoint.pt") << "not a checkpoint";
    fs::resize_file(dir + "/checkpoint.prev.pt", 100);
  });
  EXPECT_EQ(r.resumed.result.resumed_from, 0);
  EXPECT_EQ(count_lines_with(r.log, "and so is the previous checkpoint " + r.dir + "/checkpoint.prev.pt ("), 1) << r.log;
  EXPECT_EQ(count_lines_with(r.log, "; training from scratch"), 1) << r.log;
  expect_bitwise_equal(full.model, r.resumed.model);
  expect_bitwise_equal(full.ema, r.resumed.ema);
}

TEST(BackboneTraining, CurvesAreWrittenToHdf5) {
  const std::string dir = fresh_dir("curves");
  train_in(dir, small_recipe());
  H5::H5File f(dir + "/curves.h5", H5F_ACC_RDONLY);
  auto ds = f.openDataSet("loss");
  hsize_t n = 0;
  ds.getSpace().getSimpleExtentDims(&n);
  EXPECT_EQ(n, 10u);
  std::vector<double> loss(n), stage(n);
  ds.read(loss.data(), H5::PredType::NATIVE_DOUBLE);
  f.openDataSet("stage").read(stage.data(), H5::PredType::NATIVE_DOUBLE);
  for (double l : loss) EXPECT_TRUE(std::isfinite(l) && l > 0);
  EXPECT_EQ(stage[3], 0.0);
  EXPECT_EQ(stage[4], 1.0);
}

TEST(BackboneTraining, FrozenSpatialPartDoesNotMoveInStageTwo) {
  auto cfg = small_recipe();
  cfg.steps = 0;
  TrainedPair images = train_in(fresh_dir("stage1"), cfg);
  TrainedPair both = train_in(fresh_dir("stage2"), small_recipe());
  auto a = images.model->named_parameters();
  for (const auto& item : both.model->named_parameters()) {
    const bool same = torch::equal(item.value(), a[item.key()]);
    if (VideoUNetImpl::in_group(item.key(), "spatial")) {
      EXPECT_TRUE(same) << item.key();
    }
  }
  // and the temporal part did train
  bool moved = false;
  for (const auto& item : both.model->named_parameters())
    if (VideoUNetImpl::in_group(item.key(), "temporal")) {
      moved = moved || !torch::equal(item.value(), a[item.key()]);
    }
  EXPECT_TRUE(moved);
}

TEST(BackboneTraining, NanLossStopsWithTheStepAndKeepsTheLastCheckpoint) {
  // Poison the weights after step 5 (its last checkpoint is step 4): the loss of step 6 is NaN.
  const std::string dir2 = fresh_dir("nan");
  testing::MovingSquares data(6, 4, 8);
  auto cfgu = testing::micro_unet();
  torch::manual_seed(3);
  VideoUNet model(cfgu), ema(cfgu);
  TrainOptions o;
  o.dir = dir2;
  o.threads = 1;  // fixed, for bitwise comparisons (and fast on a busy machine)
  o.after_step = [&](int64_t step, double) {
    if (step == 5) {
      torch::NoGradGuard guard;
      model->parameters()[0].fill_(std::numeric_limits<float>::quiet_NaN());
    }
  };
  try {
    train_unet(model, ema, data, Prediction::eps, NoiseSchedule::linear().alphas_cumprod, small_recipe(), o);
    FAIL() << "no NumericError";
  } catch (const NumericError& e) {
    const std::string msg = e.what();
    // Stage, step and count, as every trainer says it; the NaN weights make every output value NaN.
    EXPECT_EQ(msg.rfind("backbone training step 6 of ", 0), 0u) << msg;
    EXPECT_NE(msg.find(": the loss is NaN (the model output has "), std::string::npos) << msg;
    EXPECT_NE(msg.find("step 4"), std::string::npos) << msg;
  }
  torch::serialize::InputArchive archive;
  archive.load_from(dir2 + "/checkpoint.pt");
  torch::Tensor step;
  archive.read("step", step);
  EXPECT_EQ(step.item<int64_t>(), 4);
  torch::serialize::InputArchive m;
  archive.read("model", m);
  VideoUNet back(cfgu);
  back->load(m);
  for (auto& p : back->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());
}

TEST(BackboneTraining, SignalsCheckpointAndSigtermStops) {
  auto cfg = small_recipe();
  cfg.checkpoint_every = 0;
  const std::string dir = fresh_dir("signals");
  try {
    train_in(dir, cfg, [](int64_t step, double) {
      if (step == 3) ::raise(SIGUSR1);
      if (step == 7) ::raise(SIGTERM);
    });
    FAIL() << "SIGTERM did not stop training";
  } catch (const TrainingInterrupted& e) {
    EXPECT_NE(std::string(e.what()).find("step 7"), std::string::npos) << e.what();
  }
  torch::serialize::InputArchive archive;
  archive.load_from(dir + "/checkpoint.pt");
  torch::Tensor step;
  archive.read("step", step);
  EXPECT_EQ(step.item<int64_t>(), 7);
  TrainedPair resumed = train_in(dir, cfg);
  EXPECT_EQ(resumed.result.resumed_from, 7);
  TrainedPair full = train_in(fresh_dir("signals-full"), cfg);
  expect_bitwise_equal(full.model, resumed.model);
}

// The signal a Slurm task gets before its time limit: a checkpoint, then the run stops so the requeued
// task resumes from that step.
TEST(BackboneTraining, Sigusr2CheckpointsAndStopsForARequeue) {
  auto cfg = small_recipe();
  cfg.checkpoint_every = 0;
  const std::string dir = fresh_dir("sigusr2");
  try {
    train_in(dir, cfg, [](int64_t step, double) {
      if (step == 5) ::raise(SIGUSR2);
    });
    FAIL() << "SIGUSR2 did not stop training";
  } catch (const TrainingInterrupted& e) {
    EXPECT_NE(std::string(e.what()).find("SIGUSR2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("step 5"), std::string::npos) << e.what();
  }
  torch::serialize::InputArchive archive;
  archive.load_from(dir + "/checkpoint.pt");
  torch::Tensor step;
  archive.read("step", step);
  EXPECT_EQ(step.item<int64_t>(), 5);
  EXPECT_EQ(train_in(dir, cfg).result.resumed_from, 5);
}

TEST(BackboneTraining, FileLockIsExclusive) {
  const std::string path = fresh_dir("lock") + "/lock";
  FileLock a(path), b(path);
  EXPECT_TRUE(a.try_lock());
  EXPECT_FALSE(b.try_lock());
  a.unlock();
  EXPECT_TRUE(b.try_lock());
}

using testing::micro_backbone_config;

TEST(BackboneTraining, BuilderCachesByConfigHash) {
  BackboneContext ctx;
  ctx.cache_dir = fresh_dir("cache");
  auto data = std::make_shared<testing::MovingSquares>(4, 3, 8);
  ctx.train_data = data;
  ctx.train_data_config = data->describe();
  ctx.seed = 5;
  auto a = make_backbone(micro_backbone_config(3), ctx);
  const std::string key = a->describe().at("cache_key");
  const std::string final_path = ctx.cache_dir + "/backbones/" + key + "/final.pt";
  ASSERT_TRUE(fs::exists(final_path));
  const auto mtime = fs::last_write_time(final_path);
  // The same config loads the cached weights; the shorthand {name: unet} is the same config.
  Json same = micro_backbone_config(3);
  same["name"] = "unet";
  auto b = make_backbone(same, ctx);
  EXPECT_EQ(b->describe().at("cache_key"), key);
  EXPECT_EQ(b->describe().at("weights_sha256"), a->describe().at("weights_sha256"));
  EXPECT_EQ(fs::last_write_time(final_path), mtime);
  EXPECT_TRUE(b->conditional());
  EXPECT_EQ(b->prediction(), Prediction::eps);
  EXPECT_EQ(b->schedule().at("num_train_timesteps"), 1000);
  // Same network output from both.
  torch::NoGradGuard guard;
  auto x = torch::randn({1, 3, 3, 8, 8});
  auto t = torch::full({1, 3}, 50.0f);
  Conditioning c{torch::tensor({1}), {}};
  EXPECT_TRUE(torch::equal(a->forward(x, t, c), b->forward(x, t, c)));
  // Another seed or recipe is another checkpoint.
  ctx.seed = 6;
  EXPECT_NE(unet_cache_dir(resolve_unet_backbone_params(micro_backbone_config(3)), ctx),
            ctx.cache_dir + "/backbones/" + key);
  ctx.seed = 5;
  EXPECT_NE(unet_cache_dir(resolve_unet_backbone_params(micro_backbone_config(4)), ctx),
            ctx.cache_dir + "/backbones/" + key);
  // Unknown fields are named.
  Json bad = micro_backbone_config(3);
  bad["train"]["stpes"] = 3;
  EXPECT_THROW(make_backbone(bad, ctx), ConfigError);
}

// ---- stages ---------------------------------------------------------------------------------------

int count_lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.empty() ? 0 : 1;
  return n;
}

Json staged_config(const Json& video_stage) {
  Json c = micro_backbone_config(2);
  c["train"]["image_pretrain_steps"] = 3;
  c["train"]["noise"] = Json{{"name", "ar1"}, {"rho", 0.6}};
  for (auto it = video_stage.begin(); it != video_stage.end(); ++it) c["train"][it.key()] = it.value();
  return c;
}

// Issue 9, done when 6: recipes that differ only in a video-stage parameter (a loss weight, PTSS p) train
// the image stage once and share it; an image-stage parameter gives another image stage.
TEST(BackboneTraining, VideoStageVariantsShareOneImageStage) {
  BackboneContext ctx;
  ctx.cache_dir = fresh_dir("stages");
  auto data = std::make_shared<testing::MovingSquares>(4, 3, 8);
  ctx.train_data = data;
  ctx.train_data_config = data->describe();
  const std::vector<Json> variants = {
      staged_config(Json::object()),
      staged_config(Json{{"loss", Json::array({Json{{"name", "temporal_consistency"}, {"weight", 2.0}}})}}),
      staged_config(Json{{"ptss_p", 0.5}}),
  };
  std::vector<BackbonePtr> built;
  for (const auto& v : variants) built.push_back(make_backbone(v, ctx));
  const std::string image_key = built[0]->describe().at("stages")[0].at("cache_key");
  std::set<std::string> final_keys;
  for (const auto& b : built) {
    EXPECT_EQ(b->describe().at("stages")[0].at("cache_key"), image_key);
    EXPECT_EQ(b->describe().at("stages")[1].at("cache_key"), b->describe().at("cache_key"));
    final_keys.insert(b->describe().at("cache_key").get<std::string>());
    EXPECT_EQ(count_lines(ctx.cache_dir + "/backbones/" + b->describe().at("cache_key").get<std::string>() + "/runs.log"), 1);
  }
  EXPECT_EQ(final_keys.size(), 3u);
  EXPECT_EQ(count_lines(ctx.cache_dir + "/backbones/" + image_key + "/runs.log"), 1);
  // The loss term trained other weights.
  EXPECT_NE(built[0]->describe().at("weights_sha256"), built[1]->describe().at("weights_sha256"));

  // Building a variant again trains nothing.
  make_backbone(variants[1], ctx);
  EXPECT_EQ(count_lines(ctx.cache_dir + "/backbones/" + image_key + "/runs.log"), 1);
  EXPECT_EQ(count_lines(ctx.cache_dir + "/backbones/" + built[1]->describe().at("cache_key").get<std::string>() +
                        "/runs.log"),
            1);
  // An image-stage parameter is another image stage.
  Json other = staged_config(Json::object());
  other["train"]["lr"] = 5e-4;
  EXPECT_NE(make_backbone(other, ctx)->describe().at("stages")[0].at("cache_key"), image_key);
}

// The cached image stage plus the video stage resumed from it is bitwise the run that trains both stages
// in one go.
TEST(BackboneTraining, StagedCacheEqualsOneUninterruptedRun) {
  BackboneContext ctx;
  ctx.cache_dir = fresh_dir("staged-equal");
  auto data = std::make_shared<testing::MovingSquares>(4, 3, 8);
  ctx.train_data = data;
  ctx.train_data_config = data->describe();
  ctx.seed = 2;
  const Json config = staged_config(Json{{"ptss_p", 0.5}});
  auto built = make_backbone(config, ctx);
  const Json resolved = resolve_unet_backbone_params(config);

  Json net = resolved.at("unet");
  net["conditioning"] = "class";
  net["num_classes"] = 2;
  const UNetConfig cfgu = UNetConfig::from_json(net);
  torch::manual_seed(ctx.seed);
  VideoUNet model(cfgu), ema(cfgu);
  TrainOptions o;
  o.dir = fresh_dir("staged-equal-direct");
  o.seed = ctx.seed;
  train_unet(model, ema, *data, Prediction::eps, NoiseSchedule::from_config(resolved.at("schedule"), "s").alphas_cumprod,
             TrainConfig::from_json(resolved.at("train")), o);
  VideoUNet cached(cfgu);
  load_weights(cached, ctx.cache_dir + "/backbones/" + built->describe().at("cache_key").get<std::string>() + "/final.pt");
  ema->to(torch::kCPU);
  expect_bitwise_equal(cached, ema);
}

// A video-stage step changes only the parameters of the stage's trainable groups.
TEST(BackboneTraining, VideoStageStepChangesOnlyItsGroups) {
  auto cfg = small_recipe();
  cfg.image_pretrain_steps = 2;
  cfg.steps = 3;
  cfg.trainable = {"temporal_qkv"};
  testing::MovingSquares data(6, 4, 8);
  auto cfgu = testing::micro_unet();
  torch::manual_seed(3);
  VideoUNet model(cfgu), ema(cfgu);
  std::map<std::string, torch::Tensor> previous;
  int checked = 0;
  TrainOptions o;
  o.dir = fresh_dir("groups");
  o.threads = 1;
  o.after_step = [&](int64_t step, double) {
    bool qkv_moved = false;
    for (const auto& item : model->named_parameters()) {
      if (step > cfg.image_pretrain_steps) {
        const bool same = torch::equal(item.value(), previous.at(item.key()));
        if (VideoUNetImpl::in_group(item.key(), "temporal_qkv")) {
          qkv_moved = qkv_moved || !same;
        } else {
          EXPECT_TRUE(same) << "step " << step << ": " << item.key();
        }
      }
      previous[item.key()] = item.value().detach().clone();
    }
    if (step > cfg.image_pretrain_steps) {
      EXPECT_TRUE(qkv_moved) << "step " << step;
      ++checked;
    }
  };
  train_unet(model, ema, data, Prediction::eps, NoiseSchedule::linear().alphas_cumprod, cfg, o);
  EXPECT_EQ(checked, 3);
}

// PTSS (METHODS.md 6): the share of batches with one timestep per frame is p (binomial tolerance).
TEST(BackboneTraining, PtssShareOfPerFrameDrawsIsP) {
  const int batches = 4000;
  for (double p : {0.0, 0.2, 0.5, 1.0}) {
    int per_frame = 0;
    for (int i = 0; i < batches; ++i) {
      auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(i) * 7919u + 1u);
      const TimestepDraw d = draw_training_timesteps(3, 5, 1000, p, gen);
      ASSERT_EQ(d.t.sizes(), (std::vector<int64_t>{3, 5}));
      ASSERT_TRUE((d.t >= 0).all().item<bool>() && (d.t < 1000).all().item<bool>());
      const bool equal_in_each_video = (d.t == d.t.select(1, 0).unsqueeze(1)).all().item<bool>();
      if (d.per_frame) {
        ++per_frame;
        EXPECT_FALSE(equal_in_each_video);  // (1e-3)^4 per video of a false alarm
      } else {
        EXPECT_TRUE(equal_in_each_video);
      }
    }
    const double share = double(per_frame) / batches, sd = std::sqrt(p * (1 - p) / batches);
    EXPECT_LE(std::abs(share - p), 4.5 * sd + 1e-12) << "p = " << p << ", share " << share;
  }
  // Images (F = 1) draw one t each whatever p.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  EXPECT_FALSE(draw_training_timesteps(4, 1, 1000, 1.0, gen).per_frame);
}

// ---- kill and resume in a child process -------------------------------------------------------

// The child: trains a fixed small recipe into $VDLAB_TRAIN_CHILD_DIR (resuming when a checkpoint is
// there) on $VDLAB_TRAIN_CHILD_THREADS threads and writes final.pt. Run only by the integration test below.
TEST(BackboneKillIntegration, DISABLED_TrainChild) {
  const char* dir = std::getenv("VDLAB_TRAIN_CHILD_DIR");
  if (!dir) GTEST_SKIP() << "run by BackboneKillIntegration.SigkillThenResumeIsBitwiseEqual";
  const bool slow = std::getenv("VDLAB_TRAIN_CHILD_SLOW") != nullptr;
  auto cfg = small_recipe();
  cfg.image_pretrain_steps = 10;
  cfg.steps = 20;
  cfg.checkpoint_every = 4;
  const char* threads = std::getenv("VDLAB_TRAIN_CHILD_THREADS");
  TrainedPair r = train_in(
      dir, cfg,
      [slow](int64_t, double) {
        if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(60));
      },
      threads ? std::atoi(threads) : 1);
  save_weights(r.model, std::string(dir) + "/final_model.pt");
  save_weights(r.ema, std::string(dir) + "/final.pt");
  std::ofstream(std::string(dir) + "/resumed_from.txt") << r.result.resumed_from << "\n";
}

pid_t spawn_child(const std::string& dir, bool slow) {
  const std::string exe = fs::read_symlink("/proc/self/exe").string();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("VDLAB_TRAIN_CHILD_DIR", dir.c_str(), 1);
    // Two threads: training shards each batch over them (methods/backbone/sharded_forward.h), and a
    // resumed process's first step must equal the uninterrupted run's.
    ::setenv("VDLAB_TRAIN_CHILD_THREADS", "2", 1);
    if (slow) ::setenv("VDLAB_TRAIN_CHILD_SLOW", "1", 1);
    const std::string log = dir + "/child.log";
    FILE* f = std::freopen(log.c_str(), "a", stderr);
    (void)f;
    ::execl(exe.c_str(), exe.c_str(), "--gtest_also_run_disabled_tests",
            "--gtest_filter=BackboneKillIntegration.DISABLED_TrainChild", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int wait_child(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(BackboneKillIntegration, SigkillThenResumeIsBitwiseEqual) {
  const std::string a = fresh_dir("kill-a"), b = fresh_dir("kill-b");
  int status = wait_child(spawn_child(a, false));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "uninterrupted child failed, see " << a;

  pid_t pid = spawn_child(b, true);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // Wait for the second checkpoint (step 8), then SIGKILL in the middle of the run.
  bool ready = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(b + "/checkpoint.pt")) {
      torch::serialize::InputArchive archive;
      try {
        archive.load_from(b + "/checkpoint.pt");
        torch::Tensor step;
        archive.read("step", step);
        if (step.item<int64_t>() >= 8) {
          ready = true;
          break;
        }
      } catch (...) {
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  status = wait_child(pid);
  ASSERT_TRUE(ready) << "the child never wrote a checkpoint at step 8";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_FALSE(fs::exists(b + "/final.pt")) << "the child finished before it was killed";

  status = wait_child(spawn_child(b, false));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "resumed child failed, see " << b;
  int64_t resumed_from = 0;
  std::ifstream(b + "/resumed_from.txt") >> resumed_from;
  EXPECT_GE(resumed_from, 8);
  EXPECT_LT(resumed_from, 30);

  auto cfgu = testing::micro_unet();
  cfgu.conditioning = "class";
  cfgu.num_classes = 2;
  for (const char* file : {"/final.pt", "/final_model.pt"}) {
    VideoUNet wa(cfgu), wb(cfgu);
    load_weights(wa, a + file);
    load_weights(wb, b + file);
    expect_bitwise_equal(wa, wb);
  }
}

}  // namespace
}  // namespace vdlab
