#include "methods/drmo/learned_selector.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "core/error.h"

namespace vdlab {

namespace {

constexpr int64_t kFeatures = 3;

struct SelectorNetImpl : torch::nn::Module {
  SelectorNetImpl(int64_t hidden, int64_t steps)
      : gru(register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(kFeatures + 1, hidden).batch_first(true)))),
        head(register_module("head", torch::nn::Linear(hidden, steps))) {}
  // x [B, S, features + 1] -> logits [B, steps]
  torch::Tensor forward(const torch::Tensor& x) {
    auto out = std::get<0>(gru->forward(x));
    return head->forward(out.select(1, out.size(1) - 1));
  }
  torch::nn::GRU gru;
  torch::nn::Linear head;
};
TORCH_MODULE(SelectorNet);

// [B, S, features + 1]: the features and a zero mask flag per step.
torch::Tensor inputs_of(const std::vector<const SelectorExample*>& examples, int64_t steps) {
  torch::Tensor x = torch::zeros({int64_t(examples.size()), steps, kFeatures + 1}, torch::kFloat);
  auto a = x.accessor<float, 3>();
  for (size_t b = 0; b < examples.size(); ++b) {
    if (int64_t(examples[b]->steps.size()) != steps) throw Error("learned selector: sequences of different lengths");
    for (int64_t s = 0; s < steps; ++s)
      for (int64_t f = 0; f < kFeatures; ++f) {
        const double v = examples[b]->steps[size_t(s)][size_t(f)];
        a[int64_t(b)][s][f] = std::isfinite(v) ? float(v) : 0.0f;
      }
  }
  return x;
}

}  // namespace

struct LearnedSelector::Impl {
  SelectorNet net{nullptr};
  int64_t steps = 0;
};

LearnedSelector::LearnedSelector() : impl_(std::make_unique<Impl>()) {}
LearnedSelector::~LearnedSelector() = default;

Json LearnedSelectorReport::to_json() const {
  return {{"train_examples", train_examples},       {"heldout_examples", heldout_examples},
          {"train_accuracy", train_accuracy},       {"heldout_accuracy", heldout_accuracy},
          {"heldout_within_one", heldout_within_one}, {"loss_curve", loss_curve},
          {"train_seconds", seconds}};
}

std::pair<std::shared_ptr<LearnedSelector>, LearnedSelectorReport> LearnedSelector::train(
    const std::vector<SelectorExample>& examples, int64_t steps, const LearnedSelectorOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (examples.size() < 2) throw ConfigError("learned selector: needs at least two training trajectories");
  const int64_t held = std::max<int64_t>(1, int64_t(std::llround(double(examples.size()) * o.heldout)));
  const int64_t n_train = int64_t(examples.size()) - held;
  if (n_train < 1) throw ConfigError("learned selector: no trajectories left to train on after holding out");
  std::vector<const SelectorExample*> train_set, held_set;
  for (int64_t i = 0; i < int64_t(examples.size()); ++i) (i < n_train ? train_set : held_set).push_back(&examples[size_t(i)]);

  // Initialisation and masks from the selector's own seed; torch's global generator is restored after.
  auto global = at::detail::getDefaultCPUGenerator();
  const auto saved = global.get_state();
  torch::manual_seed(o.seed);
  auto selector = std::shared_ptr<LearnedSelector>(new LearnedSelector());
  selector->impl_->steps = steps;
  selector->impl_->net = SelectorNet(o.hidden, steps);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed + 1);
  global.set_state(saved);

  // generate() runs under NoGradGuard; training needs gradients.
  torch::AutoGradMode grad_on(true);
  SelectorNet& net = selector->impl_->net;
  const torch::Tensor x = inputs_of(train_set, steps);
  std::vector<int64_t> labels;
  for (const auto* e : train_set) labels.push_back(e->label);
  const torch::Tensor y = torch::tensor(labels, torch::kLong);
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(o.lr));
  LearnedSelectorReport report;
  report.train_examples = n_train;
  report.heldout_examples = held;
  net->train();
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    const torch::Tensor masked = at::rand({x.size(0), steps, 1}, gen) < o.mask;
    torch::Tensor input = torch::where(masked, torch::zeros_like(x), x);
    input.select(2, kFeatures).copy_(masked.squeeze(2).to(torch::kFloat));
    opt.zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(input), y);
    loss.backward();
    opt.step();
    if (epoch % 10 == 0) report.loss_curve.push_back(loss.item<double>());
  }
  net->eval();
  auto accuracy = [&](const std::vector<const SelectorExample*>& set, int64_t tolerance) {
    int64_t hit = 0;
    for (const auto* e : set) hit += std::llabs(selector->predict(e->steps) - e->label) <= tolerance ? 1 : 0;
    return set.empty() ? 0.0 : double(hit) / double(set.size());
  };
  report.train_accuracy = accuracy(train_set, 0);
  report.heldout_accuracy = accuracy(held_set, 0);
  report.heldout_within_one = accuracy(held_set, 1);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {selector, report};
}

int64_t LearnedSelector::predict(const std::vector<std::vector<double>>& steps) const {
  torch::NoGradGuard no_grad;
  SelectorExample e{steps, 0};
  const torch::Tensor logits = impl_->net->forward(inputs_of({&e}, impl_->steps));
  return logits.argmax(1).item<int64_t>();
}

}  // namespace vdlab
