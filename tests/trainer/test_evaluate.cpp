// train/evaluate: evaluate() over a fake model and a fake pass of hand-made batches (counts, mean
// loss, accuracy, the confusion matrix, the LM token count without ignored targets), the text of
// format_confusion, and to_device.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "common/error.h"
#include "data/batch.h"
#include "data/sampler.h"
#include "tests/support/error_text.h"
#include "train/evaluate.h"

namespace krait::train {
namespace {

using krait::testing::error_text;
using krait::testing::mentions;

// A model whose outputs are read off its ids. Classify: row r predicts class ids[r][0] % classes and
// its negative log-likelihood is ids[r][1] / 10. LM: every counted target t costs t / 10.
class FakeModel : public Model {
 public:
  FakeModel(Task task, int64_t classes) : task_(task), classes_(classes) {}

  Task task() const override { return task_; }
  const ParameterList& parameters() const override { return params_; }
  void set_compute_dtype(DType dtype) override { dtype_ = dtype; }
  DType compute_dtype() const override { return dtype_; }
  void set_recompute_layers(bool) override {}

  ModelOutput forward(const ModelBatch& batch, ops::Reduction reduction) const override {
    seen.push_back(batch);
    reductions.push_back(reduction);
    const int64_t rows = batch.ids.size(0), length = batch.ids.size(1);
    const std::vector<double> ids = batch.ids.to_doubles();
    double sum = 0;
    int64_t counted = 0;
    ModelOutput out;
    if (task_ == Task::Classify) {
      std::vector<double> logits(static_cast<size_t>(rows * classes_), -1.0);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t predicted = static_cast<int64_t>(ids[r * length]) % classes_;
        logits[r * classes_ + predicted] = 2.0;
        sum += ids[r * length + 1] / 10;
        ++counted;
      }
      out.logits = Tensor::from_vector(logits, {rows, classes_}, dtype_);
    } else {
      const std::vector<double> targets = batch.targets.to_doubles();
      for (double t : targets) {
        if (t == -100) continue;
        sum += t / 10;
        ++counted;
      }
      out.logits = Tensor::zeros({rows, length, 4}, dtype_);
    }
    const double loss = reduction == ops::Reduction::Sum ? sum : (counted ? sum / counted : 0.0);
    out.loss = Tensor::from_vector({loss}, {}, DType::F32);
    return out;
  }

  mutable std::vector<ModelBatch> seen;
  mutable std::vector<ops::Reduction> reductions;

 private:
  Task task_;
  int64_t classes_;
  DType dtype_ = DType::F32;
  ParameterList params_;
};

class FakePass : public data::EvalPass {
 public:
  explicit FakePass(std::vector<data::Batch> batches) : batches_(std::move(batches)) {}
  bool next(data::Batch& out) override {
    if (next_ >= batches_.size()) return false;
    out = batches_[next_++];
    return true;
  }
  void reset() override {
    next_ = 0;
    ++resets;
  }
  int resets = 0;

 private:
  std::vector<data::Batch> batches_;
  size_t next_ = 0;
};

// Rows of (first id, second id, filler) with a label each; optional lengths.
data::Batch classify_batch(const std::vector<std::pair<int32_t, int32_t>>& rows, const std::vector<int32_t>& labels,
                           const std::vector<int32_t>& lengths = {}) {
  data::Batch b;
  b.resize_classify(static_cast<int64_t>(rows.size()), 3);
  for (size_t r = 0; r < rows.size(); ++r) {
    b.inputs[3 * r] = rows[r].first;
    b.inputs[3 * r + 1] = rows[r].second;
    b.inputs[3 * r + 2] = 9;
  }
  b.labels = labels;
  b.lengths = lengths;
  return b;
}

// Three classes, batches of 4, 4 and 2 rows. Predictions (first id % 3) against labels:
//   batch 1: pred 0 1 2 0, label 0 1 1 2;  batch 2: pred 1 2 2 1, label 1 2 2 0;  batch 3: pred 0 2, label 0 1.
// Confusion [true][predicted]: class 0 {2, 1, 0}, class 1 {0, 2, 2}, class 2 {1, 0, 2}; 6 of 10 right.
// NLL (second id / 10): batch sums 1.1, 1.1, 0.9 -> mean 0.31.
std::vector<data::Batch> classify_batches() {
  return {classify_batch({{0, 1}, {1, 3}, {2, 5}, {3, 2}}, {0, 1, 1, 2}),
          classify_batch({{4, 4}, {5, 0}, {2, 6}, {1, 1}}, {1, 2, 2, 0}),
          classify_batch({{6, 7}, {8, 2}}, {0, 1}, {3, 1})};
}

TEST(Evaluate, ClassifierCountsLossAccuracyAndConfusion) {
  FakeModel model(Task::Classify, 3);
  FakePass pass(classify_batches());
  const EvalResult r = evaluate(model, pass, 3, Device::cpu());
  EXPECT_EQ(r.task, Task::Classify);
  EXPECT_EQ(r.count, 10);
  EXPECT_EQ(r.correct, 6);
  EXPECT_DOUBLE_EQ(r.accuracy(), 0.6);
  EXPECT_NEAR(r.loss, 0.31, 1e-6);
  const std::vector<std::vector<int64_t>> confusion = {{2, 1, 0}, {0, 2, 2}, {1, 0, 2}};
  EXPECT_EQ(r.confusion, confusion);
  // Every batch was scored with summed losses, on the device, the short one included.
  ASSERT_EQ(model.seen.size(), 3u);
  for (ops::Reduction reduction : model.reductions) EXPECT_EQ(reduction, ops::Reduction::Sum);
  EXPECT_EQ(model.seen[2].ids.shape(), (Shape{2, 3}));
  EXPECT_EQ(model.seen[2].labels.shape(), (Shape{2}));
  EXPECT_FALSE(model.seen[0].lengths.defined());
  ASSERT_TRUE(model.seen[2].lengths.defined());
  EXPECT_EQ(model.seen[2].lengths.to_doubles(), (std::vector<double>{3, 1}));
  EXPECT_FALSE(model.seen[0].targets.defined());
}

TEST(Evaluate, StartsThePassAgain) {
  FakeModel model(Task::Classify, 3);
  FakePass pass(classify_batches());
  const EvalResult first = evaluate(model, pass, 3, Device::cpu());
  const EvalResult second = evaluate(model, pass, 3, Device::cpu());  // the pass was left at its end
  EXPECT_EQ(pass.resets, 2);
  EXPECT_EQ(second.count, first.count);
  EXPECT_EQ(second.confusion, first.confusion);
  EXPECT_DOUBLE_EQ(second.loss, first.loss);
}

TEST(Evaluate, ConfusionIsSizedByNumClasses) {
  // A fourth class nobody predicts or holds still gets its row and column.
  FakeModel model(Task::Classify, 3);
  FakePass pass(classify_batches());
  const EvalResult r = evaluate(model, pass, 4, Device::cpu());
  ASSERT_EQ(r.confusion.size(), 4u);
  for (const auto& row : r.confusion) EXPECT_EQ(row.size(), 4u);
  EXPECT_EQ(r.confusion[3], (std::vector<int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(r.confusion[1], (std::vector<int64_t>{0, 2, 2, 0}));
}

TEST(Evaluate, LabelOutsideTheClassesIsAnError) {
  FakeModel model(Task::Classify, 3);
  FakePass pass({classify_batch({{0, 1}, {1, 1}}, {0, 2})});
  const std::string message = error_text([&] { evaluate(model, pass, 2, Device::cpu()); });
  EXPECT_TRUE(mentions(message, "label 2"));
  EXPECT_TRUE(mentions(message, "2 classes"));
}

data::Batch lm_batch(int64_t rows, const std::vector<int32_t>& targets) {
  data::Batch b;
  b.resize(rows, static_cast<int64_t>(targets.size()) / rows);
  for (size_t i = 0; i < targets.size(); ++i) b.inputs[i] = static_cast<int32_t>(i % 4);
  b.targets = targets;
  return b;
}

TEST(Evaluate, LanguageModelCountsTokensWithoutIgnoredTargets) {
  FakeModel model(Task::LM, 0);
  // 2 x 3, 2 x 3 and a short 1 x 3; five targets are ignored, ten are counted, summing to 24.
  FakePass pass({lm_batch(2, {1, 2, -100, 3, 3, 3}), lm_batch(2, {-100, -100, 4, 0, 2, 1}),
                 lm_batch(1, {5, -100, -100})});
  const EvalResult r = evaluate(model, pass, 0, Device::cpu());
  EXPECT_EQ(r.task, Task::LM);
  EXPECT_EQ(r.count, 10);
  EXPECT_NEAR(r.loss, 2.4 / 10, 1e-6);
  EXPECT_NEAR(r.perplexity(), std::exp(0.24), 1e-6);
  EXPECT_NEAR(r.bits_per_token(), 0.24 / std::log(2.0), 1e-6);
  EXPECT_TRUE(r.confusion.empty());
  EXPECT_EQ(r.correct, 0);
  ASSERT_EQ(model.seen.size(), 3u);
  EXPECT_EQ(model.seen[2].targets.shape(), (Shape{1, 3}));
  EXPECT_FALSE(model.seen[0].labels.defined());
}

TEST(Evaluate, EmptyPassIsAnError) {
  FakeModel lm(Task::LM, 0);
  FakePass nothing({});
  EXPECT_TRUE(mentions(error_text([&] { evaluate(lm, nothing, 0, Device::cpu()); }), "no window"));
  FakePass all_ignored({lm_batch(1, {-100, -100})});
  EXPECT_TRUE(mentions(error_text([&] { evaluate(lm, all_ignored, 0, Device::cpu()); }), "no window"));
  FakeModel classifier(Task::Classify, 2);
  FakePass no_rows({});
  EXPECT_THROW(evaluate(classifier, no_rows, 2, Device::cpu()), Error);
}

TEST(Evaluate, AccuracyOfNothingIsZero) {
  EvalResult r;
  EXPECT_EQ(r.accuracy(), 0.0);
  r.count = 4;
  r.correct = 3;
  EXPECT_DOUBLE_EQ(r.accuracy(), 0.75);
}

TEST(FormatConfusion, ExactTable) {
  EvalResult r;
  r.task = Task::Classify;
  r.confusion = {{3, 1}, {0, 4}};
  // Cells are right-aligned in width max(6, longest name, longest count) + 2.
  const std::string expected =
      "        (rows: true class; columns: predicted)\n"
      "              no     yes  recall\n"
      "      no       3       1   75.0%\n"
      "     yes       0       4  100.0%\n";
  EXPECT_EQ(format_confusion(r, {"no", "yes"}), expected);
}

TEST(FormatConfusion, NamesRecallAndWidth) {
  FakeModel model(Task::Classify, 3);
  FakePass pass(classify_batches());
  EvalResult r = evaluate(model, pass, 4, Device::cpu());
  const std::string text = format_confusion(r, {"cat", "dog", "elephant"});  // the fourth has no name
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "every line ends in a newline";
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), 6u);  // title, header, four classes
  EXPECT_TRUE(mentions(lines[0], "rows: true class"));
  // Width 8 ("elephant"): cells of 10, five columns (name, 4 classes, recall).
  EXPECT_EQ(lines[1], "                 cat       dog  elephant   class 3    recall");
  EXPECT_EQ(lines[2], "       cat         2         1         0         0     66.7%");
  EXPECT_EQ(lines[3], "       dog         0         2         2         0     50.0%");
  EXPECT_EQ(lines[4], "  elephant         1         0         2         0     66.7%");
  EXPECT_EQ(lines[5], "   class 3         0         0         0         0      0.0%") << "no examples: 0%";
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_EQ(lines[i].size(), lines[1].size()) << i;

  // A count wider than every name widens the cells.
  r.confusion[0][0] = 123456789;
  const std::string wide = format_confusion(r, {"a", "b", "c", "d"});
  EXPECT_TRUE(mentions(wide, "  123456789"));
  EXPECT_TRUE(mentions(wide, "\n          a  123456789"));
}

TEST(ToDevice, ClassificationBatchWithLengths) {
  const data::Batch host = classify_batch({{0, 1}, {2, 3}}, {1, 0}, {2, 3});
  const ModelBatch b = to_device(host, Device::cpu());
  EXPECT_EQ(b.ids.shape(), (Shape{2, 3}));
  EXPECT_EQ(b.ids.dtype(), DType::I32);
  EXPECT_EQ(b.ids.to_doubles(), (std::vector<double>{0, 1, 9, 2, 3, 9}));
  EXPECT_FALSE(b.targets.defined());
  ASSERT_TRUE(b.labels.defined());
  EXPECT_EQ(b.labels.dtype(), DType::I32);
  EXPECT_EQ(b.labels.shape(), (Shape{2}));
  EXPECT_EQ(b.labels.to_doubles(), (std::vector<double>{1, 0}));
  ASSERT_TRUE(b.lengths.defined());
  EXPECT_EQ(b.lengths.dtype(), DType::I32);
  EXPECT_EQ(b.lengths.shape(), (Shape{2}));
  EXPECT_EQ(b.lengths.to_doubles(), (std::vector<double>{2, 3}));
}

TEST(ToDevice, ClassificationBatchWithoutLengths) {
  const ModelBatch b = to_device(classify_batch({{4, 5}}, {2}), Device::cpu());
  EXPECT_EQ(b.ids.shape(), (Shape{1, 3}));
  EXPECT_EQ(b.labels.to_doubles(), (std::vector<double>{2}));
  EXPECT_FALSE(b.lengths.defined());
  EXPECT_FALSE(b.targets.defined());
}

TEST(ToDevice, LanguageModelBatch) {
  const ModelBatch b = to_device(lm_batch(2, {1, 2, -100, 3, 3, 3}), Device::cpu());
  EXPECT_EQ(b.ids.shape(), (Shape{2, 3}));
  EXPECT_EQ(b.ids.to_doubles(), (std::vector<double>{0, 1, 2, 3, 0, 1}));
  ASSERT_TRUE(b.targets.defined());
  EXPECT_EQ(b.targets.dtype(), DType::I32);
  EXPECT_EQ(b.targets.shape(), (Shape{2, 3}));
  EXPECT_EQ(b.targets.to_doubles(), (std::vector<double>{1, 2, -100, 3, 3, 3}));
  EXPECT_FALSE(b.labels.defined());
  EXPECT_FALSE(b.lengths.defined());
}

TEST(ToDevice, OnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  const ModelBatch b = to_device(classify_batch({{0, 1}, {2, 3}}, {1, 0}, {2, 3}), Device::cuda());
  EXPECT_TRUE(b.ids.device().is_cuda());
  EXPECT_TRUE(b.labels.device().is_cuda());
  EXPECT_TRUE(b.lengths.device().is_cuda());
  EXPECT_EQ(b.lengths.to_doubles(), (std::vector<double>{2, 3}));
}

}  // namespace
}  // namespace krait::train
