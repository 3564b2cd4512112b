// tests/trainer/test_generate_cli.cpp — `krait generate` on a tiny byte-level Mamba trained in the
// test: it prints the prompt and new text and the tokens/s, a seed reproduces the text (and another
// changes it), --prompt-file reads the prompt, --batch prints each sequence, and bad options or a
// checkpoint that cannot generate are errors that say why.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "tests/support/error_text.h"
#include "tests/trainer/run_fixture.h"
#include "tests/trainer/spawn.h"
#include "train/generate.h"
#include "train/run_dir.h"
#include "train/trainer.h"

namespace krait::train {
namespace {

using krait::testing::error_text;
using krait::testing::mentions;

struct Output {
  int code;
  std::string text;   // stdout and stderr without the last line
  std::string stats;  // the last line (the tokens/s line on success)
};

class GenerateCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fx_ = new testing::RunFixture("generate");
    const Recipe recipe = load_recipe(fx_->recipe("lm", 20));
    std::ostringstream progress;
    Trainer(recipe, progress).run();
    checkpoint_ = new std::string(checkpoint_path(recipe.train.run_dir, 20));
  }
  static void TearDownTestSuite() {
    delete checkpoint_;
    delete fx_;
  }

  static Output generate(const std::vector<std::string>& options) {
    std::vector<std::string> args{"generate", "--checkpoint", *checkpoint_};
    args.insert(args.end(), options.begin(), options.end());
    const std::string log = (fx_->dir() / "generate.log").string();
    const int code = testing::wait_exit_code(testing::spawn_krait(args, log));
    std::ifstream in(log);
    std::string all{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!all.empty() && all.back() == '\n') all.pop_back();
    const size_t cut = all.rfind('\n');
    return cut == std::string::npos ? Output{code, "", all} : Output{code, all.substr(0, cut), all.substr(cut + 1)};
  }

  static inline testing::RunFixture* fx_ = nullptr;
  static inline std::string* checkpoint_ = nullptr;
};

TEST_F(GenerateCli, PrintsPromptThenTextReproduciblyForASeed) {
  const std::vector<std::string> options{"--prompt", "And God said", "--max-new-tokens", "40", "--seed", "3",
                                         "--top-k", "40", "--top-p", "0.95", "--temperature", "0.9"};
  const Output first = generate(options);
  ASSERT_EQ(first.code, 0) << first.text << first.stats;
  EXPECT_EQ(first.text.rfind("And God said", 0), 0u) << first.text;
  EXPECT_GT(first.text.size(), std::string("And God said").size()) << first.text;
  EXPECT_TRUE(mentions(first.stats, "tokens/s"));
  EXPECT_EQ(generate(options).text, first.text);
  std::vector<std::string> reseeded = options;
  reseeded[5] = "4";
  EXPECT_NE(generate(reseeded).text, first.text);
}

TEST_F(GenerateCli, GreedyIsDeterministicAndPromptFileReadsThePrompt) {
  const std::string path = (fx_->dir() / "prompt.txt").string();
  std::ofstream(path) << "In the beginning";
  const Output from_file = generate({"--prompt-file", path, "--temperature", "0", "--max-new-tokens", "20"});
  ASSERT_EQ(from_file.code, 0) << from_file.text << from_file.stats;
  const Output from_flag = generate({"--prompt", "In the beginning", "--temperature", "0", "--max-new-tokens", "20",
                                     "--seed", "99"});
  EXPECT_EQ(from_flag.text, from_file.text);
  EXPECT_EQ(from_file.text.rfind("In the beginning", 0), 0u) << from_file.text;
}

TEST_F(GenerateCli, BatchPrintsEverySequence) {
  const Output out = generate({"--prompt", "the", "--batch", "3", "--max-new-tokens", "10", "--seed", "1"});
  ASSERT_EQ(out.code, 0) << out.text << out.stats;
  for (const char* header : {"=== sequence 1 of 3 ===\nthe", "=== sequence 2 of 3 ===\nthe",
                             "=== sequence 3 of 3 ===\nthe"})
    EXPECT_TRUE(mentions(out.text, header));
}

TEST_F(GenerateCli, BadOptionsAreErrors) {
  const Output cold = generate({"--prompt", "x", "--temperature", "-1"});
  EXPECT_EQ(cold.code, 1);
  EXPECT_TRUE(mentions(cold.stats, "temperature"));
  const Output nucleus = generate({"--prompt", "x", "--top-p", "0"});
  EXPECT_EQ(nucleus.code, 1);
  EXPECT_TRUE(mentions(nucleus.stats, "top-p"));
}

TEST(Generate, CheckpointsThatCannotGenerateAreRefused) {
  ModelSpec lm;
  EXPECT_NO_THROW(check_can_generate(lm, "ok.h5"));
  ModelSpec classifier = lm;
  classifier.task = Task::Classify;
  EXPECT_TRUE(mentions(error_text([&] { check_can_generate(classifier, "c.h5"); }), "language model"));
  ModelSpec transformer = lm;
  transformer.backbone = "transformer";
  EXPECT_TRUE(mentions(error_text([&] { check_can_generate(transformer, "t.h5"); }), "only Mamba"));
  ModelSpec dna = lm;
  dna.mamba.vocab_size = 12;
  EXPECT_TRUE(mentions(error_text([&] { check_can_generate(dna, "dna.h5"); }), "vocab_size 12"));
}

}  // namespace
}  // namespace krait::train
