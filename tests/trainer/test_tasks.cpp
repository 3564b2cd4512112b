// The shipped DNA and audio recipes, shrunk with --set, run end to end on the CPU on real bytes:
// krait-prepare -> next-base pretraining -> species classification from the pretrained backbone
// (init_from, freeze) -> krait eval's accuracy and confusion matrix; a classification run killed
// between checkpoints resumes bit-identically; WAV folders train a classifier directly.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/trainer/checkpoint_compare.h"
#include "train/checkpoint_file.h"
#include "train/run_dir.h"

namespace krait::train {
namespace {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string output;  // stdout and stderr
};

Result run(const std::string& command, const fs::path& log) {
  Result r;
  r.code = std::system((command + " > " + log.string() + " 2>&1").c_str());
  std::ifstream in(log);
  r.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

std::string join(const std::vector<std::string>& overrides) {
  std::string out;
  for (const std::string& o : overrides) out += " --set '" + o + "'";
  return out;
}

// A fresh folder, the three-bacteria fixture prepared into region-split HDF5 sets labeled by record.
class TaskRun : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("krait-tasks-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "manifest.tsv") << "ecoli_mg1655_1_15000\tecoli\nsaureus_n315_1_12000\tsaureus\n"
                                            "vcholerae_n16961_chrI_1561001_1576000\tvcholerae\n";
    const Result prepared = run(std::string(KRAIT_PREPARE_BINARY) + " dna --quiet --out " + data().string() +
                                    " --label-by record --manifest " + (dir_ / "manifest.tsv").string() + " " +
                                    KRAIT_SOURCE_DIR "/tests/data/fixtures/dna/three_bacteria_60col.fa",
                                dir_ / "prepare.log");
    ASSERT_EQ(prepared.code, 0) << prepared.output;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path data() const { return dir_ / "bacteria"; }
  // A shipped recipe shrunk to a tiny CPU run on the prepared bacteria.
  Result train(const std::string& recipe, const std::string& run_name, std::vector<std::string> extra) const {
    std::vector<std::string> o{"data.train=" + (data() / "train.h5").string(),
                               "data.valid=" + (data() / "valid.h5").string(),
                               "train.device=cpu",
                               "train.precision=fp32",
                               "model.d_model=16",
                               "model.n_layer=2",
                               "data.seq_len=64",
                               "data.batch_size=4",
                               "schedule.warmup_steps=2",
                               "train.eval_interval=10",
                               "train.checkpoint_interval=10",
                               "eval.max_batches=3",
                               "train.run_dir=" + (dir_ / run_name).string()};
    o.insert(o.end(), extra.begin(), extra.end());
    return run(std::string(KRAIT_BINARY) + " train -c " KRAIT_SOURCE_DIR "/" + recipe + join(o),
               dir_ / (run_name + ".log"));
  }
  fs::path dir_;
};

TEST_F(TaskRun, PretrainThenClassifyFromThePretrainedBackbone) {
  const Result pre = train("configs/dna/great-apes-pretrain.yaml", "pretrain", {"schedule.total_steps=20"});
  ASSERT_EQ(pre.code, 0) << pre.output;
  EXPECT_NE(pre.output.find("bits/token"), std::string::npos) << pre.output;

  const Result cls = train("configs/dna/great-apes-classify-1k.yaml", "classify",
                           {"schedule.total_steps=20", "eval.batch_size=4", "train.init_from=" + (dir_ / "pretrain").string(),
                            "train.freeze=[embedding.*, layers.0.*]"});
  ASSERT_EQ(cls.code, 0) << cls.output;
  EXPECT_NE(cls.output.find("initialized from " + checkpoint_path((dir_ / "pretrain").string(), 20)), std::string::npos)
      << cls.output;
  EXPECT_NE(cls.output.find("new (2): classifier.weight, classifier.bias"), std::string::npos) << cls.output;
  EXPECT_NE(cls.output.find("ignored (0)"), std::string::npos) << cls.output;
  EXPECT_NE(cls.output.find("frozen by train.freeze"), std::string::npos) << cls.output;
  EXPECT_NE(cls.output.find("accuracy"), std::string::npos) << cls.output;
  EXPECT_NE(cls.output.find("vcholerae"), std::string::npos) << "the confusion matrix names the classes";

  // Frozen tensors kept the pretrained values; trained ones moved.
  const CheckpointReader pretrained(checkpoint_path((dir_ / "pretrain").string(), 20));
  const CheckpointReader tuned(checkpoint_path((dir_ / "classify").string(), 20));
  auto same = [&](const std::string& name) {
    const Tensor a = pretrained.tensor("model/" + name), b = tuned.tensor("model/" + name);
    return std::equal(a.data<float>(), a.data<float>() + a.numel(), b.data<float>());
  };
  EXPECT_TRUE(same("embedding.weight"));
  EXPECT_TRUE(same("layers.0.mixer.in_proj.weight"));
  EXPECT_FALSE(same("layers.1.mixer.in_proj.weight"));
  EXPECT_FALSE(tuned.has("optim/exp_avg/embedding.weight")) << "a frozen tensor has no optimizer state";

  std::ifstream metrics(dir_ / "classify/metrics.jsonl");
  std::string line, last_eval;
  while (std::getline(metrics, line))
    if (line.find("\"kind\":\"eval\"") != std::string::npos) last_eval = line;
  EXPECT_NE(last_eval.find("\"accuracy\":"), std::string::npos) << last_eval;
  EXPECT_NE(last_eval.find("\"confusion\":[["), std::string::npos) << last_eval;

  const Result eval = run(std::string(KRAIT_BINARY) + " eval --checkpoint " +
                              checkpoint_path((dir_ / "classify").string(), 20) +
                              " --set data.valid=" + (data() / "test.h5").string(),
                          dir_ / "eval.log");
  ASSERT_EQ(eval.code, 0) << eval.output;
  EXPECT_NE(eval.output.find("accuracy"), std::string::npos) << eval.output;
  EXPECT_NE(eval.output.find("recall"), std::string::npos) << eval.output;
}

TEST_F(TaskRun, ClassificationResumesBitIdentically) {
  const std::vector<std::string> o{"schedule.total_steps=20", "eval.batch_size=4", "train.init_from=",
                                   "train.keep_checkpoints=5"};
  ASSERT_EQ(train("configs/dna/great-apes-classify-1k.yaml", "straight", o).code, 0);
  ASSERT_EQ(train("configs/dna/great-apes-classify-1k.yaml", "resumed", o).code, 0);
  // Back to step 10, as a crash after that checkpoint would leave it; then run again.
  fs::remove(checkpoint_path((dir_ / "resumed").string(), 20));
  const Result again = train("configs/dna/great-apes-classify-1k.yaml", "resumed", o);
  ASSERT_EQ(again.code, 0) << again.output;
  ASSERT_NE(again.output.find("resuming from"), std::string::npos) << again.output;

  testing::expect_identical_checkpoints(checkpoint_path((dir_ / "straight").string(), 20),
                                        checkpoint_path((dir_ / "resumed").string(), 20));
}

TEST_F(TaskRun, ClearErrorsForDataThatDoesNotFitTheTask) {
  const Result tokens = train("configs/dna/great-apes-classify-1k.yaml", "tokens", {"data.format=tokens"});
  EXPECT_NE(tokens.code, 0);
  EXPECT_NE(tokens.output.find("task: classify needs labeled sequences"), std::string::npos) << tokens.output;

  const Result too_long = train("configs/dna/great-apes-classify-1k.yaml", "long", {"data.seq_len=100000"});
  EXPECT_NE(too_long.code, 0);
  EXPECT_NE(too_long.output.find("longer than every record"), std::string::npos) << too_long.output;

  const Result bad_init = train("configs/dna/great-apes-classify-1k.yaml", "init", {"train.init_from=/no/such/run"});
  EXPECT_NE(bad_init.code, 0);
  EXPECT_NE(bad_init.output.find("train.init_from: '/no/such/run' does not exist"), std::string::npos)
      << bad_init.output;

  const Result classes = train("configs/dna/great-apes-classify-1k.yaml", "classes", {"model.num_classes=5"});
  EXPECT_NE(classes.code, 0);
  EXPECT_NE(classes.output.find("model.num_classes is 5 but"), std::string::npos) << classes.output;
}

// WAV folders as a recipe's data (no preparation): labels from folder names, an 8 kHz recording
// resampled, clips padded to one second; then next-sample pretraining on the same audio.
TEST_F(TaskRun, WavFoldersTrainAClassifierAndALanguageModel) {
  const fs::path audio = dir_ / "audio";
  const fs::path fixtures = KRAIT_SOURCE_DIR "/tests/data/fixtures/audio";
  fs::create_directories(audio / "espeak");
  fs::create_directories(audio / "allison");
  for (const char* f : {"seven_16k_pcm16.wav", "seven_16k_pcm8.wav", "seven_16k_float32.wav"})
    fs::copy_file(fixtures / f, audio / "espeak" / f);
  for (const char* name : {"a.wav", "b.wav"}) fs::copy_file(fixtures / "allison_7_8k.wav", audio / "allison" / name);
  const std::vector<std::string> wav{"data.format=wav",       "data.train=" + audio.string(),
                                     "data.valid=" + audio.string(), "data.resample=true",
                                     "data.clip_samples=16000", "schedule.total_steps=6",
                                     "model.vocab_size=256",  "data.seq_len=2000"};
  std::vector<std::string> classify = wav;
  classify.insert(classify.end(), {"data.labels=folder", "train.init_from=", "eval.batch_size=4"});
  const Result cls = train("configs/audio/spoken-digits-classify.yaml", "digits", classify);
  ASSERT_EQ(cls.code, 0) << cls.output;
  EXPECT_NE(cls.output.find("2 classes (allison, espeak)"), std::string::npos) << cls.output;

  const Result rejected = train("configs/audio/spoken-digits-classify.yaml", "rate", {wav[0], wav[1], wav[2],
                                "data.labels=folder", "train.init_from=", "model.vocab_size=256"});
  EXPECT_NE(rejected.code, 0);
  EXPECT_NE(rejected.output.find("allison"), std::string::npos) << "the 8 kHz file is named: " << rejected.output;

  const Result lm = train("configs/audio/piano-pretrain.yaml", "piano", wav);
  ASSERT_EQ(lm.code, 0) << lm.output;
  EXPECT_NE(lm.output.find("bits/token"), std::string::npos) << lm.output;

  // The same clips prepared as HDF5 at 16 kHz, given to a recipe that expects 8 kHz.
  const Result prepared = run(std::string(KRAIT_PREPARE_BINARY) + " audio --quiet --resample --labels folder "
                                  "--clip-samples 16000 --split none --name all --out " + (dir_ / "audio-h5").string() +
                                  " " + audio.string(),
                              dir_ / "prepare-audio.log");
  ASSERT_EQ(prepared.code, 0) << prepared.output;
  const std::string h5 = (dir_ / "audio-h5/all.h5").string();
  const Result rate = train("configs/audio/spoken-digits-classify.yaml", "h5rate",
                            {"data.train=" + h5, "data.valid=" + h5, "data.sample_rate=8000", "train.init_from=",
                             "model.vocab_size=256"});
  EXPECT_NE(rate.code, 0);
  EXPECT_NE(rate.output.find("audio at 16000 Hz, but data.sample_rate is 8000"), std::string::npos) << rate.output;
}

// The synthetic-task recipes (Mamba and Transformer++), shrunk: training reports the recall
// accuracy, and `krait eval --lengths` scores the induction-heads models at other lengths.
TEST_F(TaskRun, SyntheticTasksTrainAndEvaluateAtSeveralLengths) {
  const std::vector<std::string> tiny{"train.device=cpu",      "train.precision=fp32", "model.d_model=16",
                                      "schedule.total_steps=6", "schedule.warmup_steps=1", "data.batch_size=4",
                                      "data.eval_examples=8",   "eval.batch_size=4"};
  auto run_recipe = [&](const std::string& recipe, const std::string& name, std::vector<std::string> extra) {
    extra.insert(extra.end(), tiny.begin(), tiny.end());
    extra.push_back("train.run_dir=" + (dir_ / name).string());
    return run(std::string(KRAIT_BINARY) + " train -c " KRAIT_SOURCE_DIR "/" + recipe + join(extra),
               dir_ / (name + ".log"));
  };
  const Result copying = run_recipe("configs/synthetic/selective-copying.yaml", "copying",
                                    {"data.seq_len=64", "data.copy_tokens=4"});
  ASSERT_EQ(copying.code, 0) << copying.output;
  EXPECT_NE(copying.output.find("synthetic selective-copying"), std::string::npos) << copying.output;
  EXPECT_NE(copying.output.find("(32 tokens) | accuracy"), std::string::npos) << "8 examples x 4 recalled tokens: "
                                                                               << copying.output;

  const Result induction = run_recipe("configs/synthetic/induction-heads.yaml", "induction", {"data.seq_len=32"});
  ASSERT_EQ(induction.code, 0) << induction.output;
  const Result lengths = run(std::string(KRAIT_BINARY) + " eval --checkpoint " +
                                 checkpoint_path((dir_ / "induction").string(), 6) + " --lengths 16,32,128",
                             dir_ / "lengths.log");
  ASSERT_EQ(lengths.code, 0) << lengths.output;
  for (const char* row : {"| 16 |", "| 32 |", "| 128 |"}) EXPECT_NE(lengths.output.find(row), std::string::npos) << lengths.output;

  // The Transformer++ recipes of both tasks: the same flow with the other backbone.
  const Result copying_tfm = run_recipe("configs/synthetic/selective-copying-transformer.yaml", "copying-tfm",
                                        {"data.seq_len=64", "data.copy_tokens=4"});
  ASSERT_EQ(copying_tfm.code, 0) << copying_tfm.output;
  EXPECT_NE(copying_tfm.output.find("(32 tokens) | accuracy"), std::string::npos) << copying_tfm.output;
  const Result induction_tfm =
      run_recipe("configs/synthetic/induction-heads-transformer.yaml", "induction-tfm", {"data.seq_len=32"});
  ASSERT_EQ(induction_tfm.code, 0) << induction_tfm.output;
  const Result lengths_tfm = run(std::string(KRAIT_BINARY) + " eval --checkpoint " +
                                     checkpoint_path((dir_ / "induction-tfm").string(), 6) + " --lengths 16,96",
                                 dir_ / "lengths-tfm.log");
  ASSERT_EQ(lengths_tfm.code, 0) << lengths_tfm.output;
  for (const char* row : {"| 16 |", "| 96 |"}) EXPECT_NE(lengths_tfm.output.find(row), std::string::npos) << lengths_tfm.output;

  const Result not_synthetic = run(std::string(KRAIT_BINARY) + " eval --checkpoint " +
                                       checkpoint_path((dir_ / "induction").string(), 6) +
                                       " --lengths 16 --set data.format=tokens --set data.train=x.bin --set data.valid=x.bin",
                                   dir_ / "bad-lengths.log");
  EXPECT_NE(not_synthetic.code, 0);
  EXPECT_NE(not_synthetic.output.find("needs data.format: synthetic"), std::string::npos) << not_synthetic.output;
}

}  // namespace
}  // namespace krait::train
