// train/main.cpp — the krait command line: train (one rank of a data-parallel job when launched so),
// launch, eval, info, bench, dump, convert, generate, sweep and recipe. The only place that prints an error
// and exits; everything below throws krait::Error.
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>

#include "common/error.h"
#include "data/hdf5_process.h"
#include "train/bench.h"
#include "train/bench_generate.h"
#include "train/checkpoint_file.h"
#include "train/data_pipeline.h"
#include "train/distributed.h"
#include "train/dump.h"
#include "train/evaluate.h"
#include "train/generate.h"
#include "train/hf_convert.h"
#include "train/launch.h"
#include "train/recipe.h"
#include "train/recipe_reference.h"
#include "train/run_banner.h"
#include "train/stop_signal.h"
#include "train/sweep_report.h"
#include "train/sweep_runner.h"
#include "train/trainer.h"

namespace {
using namespace krait;
using namespace krait::train;

// One rank of a data-parallel job when a launcher's variables say so (torchrun, Slurm, Open MPI,
// `krait launch`); rank 0 alone prints. SIGINT, SIGTERM and SIGUSR1 stop it after the current step
// with a checkpoint, and it exits with stop_exit_code (130, 143, 138).
int run_train(const std::string& config, const std::vector<std::string>& overrides, bool force_nccl,
              RecipeChangePolicy changes) {
  install_stop_handlers();
  const dist::LaunchEnv env = dist::read_launch_env();
  Recipe recipe = load_recipe(config, overrides, env.world_size);
  const Distributed job = join_distributed(env, recipe, force_nccl);
  std::ostream quiet(nullptr);
  std::ostream& progress = env.rank == 0 ? std::cout : quiet;
  Trainer trainer(recipe, progress, job.comm.get(), changes);
  const TrainSummary s = trainer.run();
  if (s.stop_signal != 0) return stop_exit_code(s.stop_signal);
  if (env.rank != 0) return 0;
  print_run_end(recipe, s, std::cout);
  return 0;
}

// The recipe a checkpoint was trained with, or the one given on the command line.
Recipe recipe_for(const CheckpointReader& ckpt, const std::string& checkpoint,
                  const std::string& config, const std::vector<std::string>& overrides) {
  if (!config.empty()) return load_recipe(config, overrides);
  return parse_recipe(ckpt.get_string("recipe"), checkpoint + ":/recipe", overrides);
}

// The checkpoint's model: its recipe's backbone and head (num_classes as resolved in training), with
// f32 parameters (or f64 ones, for dump --dtype f64).
std::unique_ptr<Model> load_model(const CheckpointReader& ckpt, const Recipe& recipe, DType dtype = DType::F32) {
  KRAIT_CHECK(recipe.model.task != Task::Classify || recipe.model.num_classes >= 2, ckpt.path(),
              ": a classifier's recipe must name model.num_classes (the training run writes it)");
  auto model = build_model(recipe.model, static_cast<uint64_t>(recipe.train.seed), {dtype, recipe.device()});
  if (recipe.train.precision == Precision::BF16) model->set_compute_dtype(DType::BF16);
  for (const Parameter& p : model->parameters()) ckpt.read_into("model/" + p.name, p.value);
  return model;
}

// One evaluation, printed; with `lengths`, one per sequence length (a synthetic task's examples
// made at each), as a table.
int run_eval(const std::string& checkpoint, const std::string& config, const std::vector<std::string>& overrides,
             const std::vector<int64_t>& lengths) {
  CheckpointReader ckpt(checkpoint);
  const Recipe recipe = recipe_for(ckpt, checkpoint, config, overrides);
  const auto model = load_model(ckpt, recipe);
  if (!lengths.empty()) {
    KRAIT_CHECK(recipe.data.format == DataFormat::Synthetic, "eval --lengths: makes examples of each length, so it "
                "needs data.format: synthetic (the recipe has ", to_string(recipe.data.format), ")");
    std::printf("checkpoint %s (step %lld), %s:\n| length | loss | accuracy |\n|---|---|---|\n", checkpoint.c_str(),
                (long long)ckpt.get_int("state/step"), recipe.data.task.c_str());
    for (const int64_t length : lengths) {
      Recipe at = recipe;
      at.data.seq_len = length;
      at.validate();
      const DataPipeline data(at, DataPipeline::Open::ValidOnly);
      const auto pass = data.valid_pass(at.eval_batch_size(), at.eval.max_batches);
      const EvalResult r = evaluate(*model, *pass, 0, at.device(), true);
      std::printf("| %lld | %.4f | %.2f%% |\n", (long long)length, r.loss, 100.0 * r.accuracy());
      std::fflush(stdout);
    }
    return 0;
  }
  const DataPipeline data(recipe, DataPipeline::Open::ValidOnly);
  const auto pass = data.valid_pass(recipe.eval_batch_size(), recipe.eval.max_batches);
  const EvalResult r = evaluate(*model, *pass, recipe.model.num_classes, recipe.device(), data.token_accuracy());
  std::printf("checkpoint %s (step %lld) on %s: ", checkpoint.c_str(), (long long)ckpt.get_int("state/step"),
              recipe.data.format == DataFormat::Synthetic ? recipe.data.task.c_str() : recipe.data.valid.c_str());
  if (r.task == Task::Classify) {
    std::printf("loss %.4f | accuracy %.2f%% | %lld sequences\n%s", r.loss, 100.0 * r.accuracy(), (long long)r.count,
                format_confusion(r, data.class_names()).c_str());
  } else {
    std::printf("loss %.4f | ppl %.3f | %.4f bits/token | %lld tokens", r.loss, r.perplexity(), r.bits_per_token(),
                (long long)r.count);
    if (data.token_accuracy()) std::printf(" | accuracy %.2f%%", 100.0 * r.accuracy());
    std::printf("\n");
  }
  return 0;
}

int run_info(const std::string& checkpoint) {
  CheckpointReader ckpt(checkpoint);
  const Recipe recipe = recipe_for(ckpt, checkpoint, "", {});
  const auto model = build_model(recipe.model, 0, {});
  std::cout << "checkpoint: " << checkpoint << "\n"
            << "step: " << ckpt.get_int("state/step") << "\n"
            << "tokens seen: " << ckpt.get_int("state/tokens_seen") << "\n"
            << "model: " << recipe.model.backbone << " " << task_name(recipe.model.task) << "\n"
            << "parameters: " << model->num_parameters() << "\n"
            << "recipe:\n"
            << to_yaml(recipe);
  return 0;
}

int run_bench_train(const std::string& config, const std::vector<std::string>& overrides, TrainBenchOptions options) {
  const Recipe recipe = load_recipe(config, overrides);
  options.model = recipe.model;
  options.device = recipe.device();
  options.compute_dtype = recipe.train.precision == Precision::BF16 ? DType::BF16 : DType::F32;
  options.recompute_layers = recipe.train.recompute;
  print_train_bench(options, bench_train(options), std::cout);
  return 0;
}

int run_dump(const std::string& checkpoint, const std::string& config, const std::vector<std::string>& overrides,
             const DumpOptions& options, const std::string& out) {
  CheckpointReader ckpt(checkpoint);
  const Recipe recipe = recipe_for(ckpt, checkpoint, config, overrides);
  KRAIT_CHECK(recipe.model.backbone == "mamba", "dump: compares a Mamba language model with PyTorch's "
              "MambaForCausalLM; this checkpoint's backbone is ", recipe.model.backbone);
  KRAIT_CHECK(options.dtype != DType::F64 || (recipe.device().is_cpu() && recipe.train.precision == Precision::FP32),
              "dump --dtype f64: runs on the cpu in full precision (train.device: cpu, train.precision: fp32)");
  const auto model = load_model(ckpt, recipe, options.dtype);
  const DumpResult r = dump_gradients(*model, recipe.model.mamba, recipe.device(), options, out);
  std::printf("%s: %s on %s, batch %lld x %lld, loss %.6f, %lld gradients\n", out.c_str(),
              dtype_name(model->compute_dtype()), recipe.train.device.c_str(), (long long)options.batch,
              (long long)options.seq_len, r.loss, (long long)r.parameters);
  return 0;
}

int run_bench_generate(const std::string& config, const std::vector<std::string>& overrides,
                       GenerateBenchOptions options) {
  const Recipe recipe = load_recipe(config, overrides);
  options.model = recipe.model;
  options.device = recipe.device();
  options.compute_dtype = recipe.train.precision == Precision::BF16 ? DType::BF16 : DType::F32;
  print_generate_bench(options, bench_generate(options), std::cout);
  return 0;
}

// krait generate: the checkpoint's model on its recipe's device or `device`: in the recipe's precision
// on CUDA, in full precision on the CPU (whose kernels have no bf16).
int run_generate(const std::string& checkpoint, GenerateOptions options, const std::string& prompt_file,
                 const std::string& device, const std::string& tokenizer_path) {
  CheckpointReader ckpt(checkpoint);
  Recipe recipe = recipe_for(ckpt, checkpoint, "", {});
  const auto tokenizer = data::open_text_tokenizer(tokenizer_path.empty() ? recipe.data.tokenizer : tokenizer_path);
  check_can_generate(recipe.model, checkpoint, *tokenizer);
  if (!device.empty()) recipe.train.device = device;
  if (recipe.device().is_cpu()) recipe.train.precision = Precision::FP32;
  if (!prompt_file.empty()) options.prompt = read_prompt_file(prompt_file);
  const auto model = load_model(ckpt, recipe);
  const GenerateStats s =
      generate_text(*model, recipe.model.vocab_size(), recipe.device(), *tokenizer, options, std::cout);
  std::fprintf(stderr,
               "generate: %lld new tokens in %.3f s: %.1f tokens/s (prefill of %lld x %lld tokens: %.3f s)\n",
               (long long)s.new_tokens, s.seconds, s.seconds > 0 ? s.new_tokens / s.seconds : 0.0,
               (long long)options.batch, (long long)s.prompt_tokens, s.prefill_seconds);
  return 0;
}

// krait convert: exactly one of from_hf (a Hugging Face folder) and to_hf (a Krait checkpoint).
int run_convert(const std::string& from_hf, const std::string& to_hf, const std::string& out) {
  KRAIT_CHECK(from_hf.empty() != to_hf.empty(), "convert: give one of --from-hf DIR and --to-hf CHECKPOINT");
  const ConvertReport r = from_hf.empty() ? convert_to_hf(to_hf, out) : convert_from_hf(from_hf, out);
  std::printf("%s: Mamba LM, d_model %lld, %lld layers, vocab_size %lld (%lld rows), %lld tensors\n", r.written.c_str(),
              (long long)r.config.d_model, (long long)r.config.n_layer, (long long)r.config.vocab_size,
              (long long)r.config.padded_vocab_size(), (long long)r.tensors);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  data::skip_hdf5_cleanup_at_exit();
  CLI::App app{"krait: train selective state-space (Mamba) models: language models and sequence classifiers"};
  app.require_subcommand(1);
  app.footer("Recipe keys, types, defaults and meanings: krait recipe --describe (or docs/recipe.md).");

  std::string config, checkpoint;
  std::vector<std::string> overrides;
  auto* train = app.add_subcommand(
      "train", "train from a YAML recipe (resumes from the run directory's newest checkpoint)");
  train->add_option("-c,--config", config, "recipe YAML file (its keys: krait recipe --describe, docs/recipe.md)")
      ->required()
      ->check(CLI::ExistingFile);
  train->footer("Every recipe key with its type, default, allowed values and meaning: krait recipe --describe "
                "(the same reference as docs/recipe.md).");
  bool force_nccl = false, allow_recipe_change = false;
  train->add_flag("--allow-recipe-change", allow_recipe_change,
                  "resume with a changed run length, intervals, lr schedule or eval settings (recorded in "
                  "RUN_DIR/recipe-history/); model, data and seed changes are refused all the same");
  train->add_flag("--nccl", force_nccl,
                  "go through NCCL even on one GPU (to check that path; several ranks always use it)");
  train->add_option("--set", overrides,
                    "override a recipe value, e.g. --set optim.lr=1e-3 (repeatable)");

  auto* eval = app.add_subcommand("eval", "evaluate a checkpoint on the recipe's validation data (loss; accuracy and confusion matrix for a classifier)");
  eval->add_option("--checkpoint", checkpoint, "checkpoint file (.h5)")->required();
  eval->add_option("-c,--config", config,
                   "recipe to use instead of the one stored in the checkpoint");
  eval->add_option("--set", overrides, "override a recipe value (repeatable)");
  std::vector<int64_t> eval_lengths;
  eval->add_option("--lengths", eval_lengths,
                   "synthetic tasks: evaluate at each of these sequence lengths, e.g. --lengths 64,256,1024")
      ->delimiter(',');

  auto* info = app.add_subcommand("info", "print a checkpoint's step, parameter count and recipe");
  info->add_option("--checkpoint", checkpoint, "checkpoint file (.h5)")->required();

  auto* bench = app.add_subcommand("bench", "performance benchmarks");
  bench->require_subcommand(1);
  TrainBenchOptions bench_options;
  auto* bench_train_cmd = bench->add_subcommand(
      "train", "time training steps of the recipe's model on random tokens: tokens/s, step time, peak memory, MFU");
  bench_train_cmd->add_option("-c,--config", config, "recipe YAML file (its model and train.device)")
      ->required()
      ->check(CLI::ExistingFile);
  bench_train_cmd->add_option("--set", overrides, "override a recipe value (repeatable)");
  bench_train_cmd->add_option("--micro-batch", bench_options.micro_batch, "sequences per step")->capture_default_str();
  bench_train_cmd->add_option("--seq-len", bench_options.seq_len, "tokens per sequence")->capture_default_str();
  bench_train_cmd->add_option("--steps", bench_options.timed_steps, "timed steps")->capture_default_str();
  bench_train_cmd->add_option("--peak-tflops", bench_options.peak_tflops, "the card's peak, for MFU")
      ->capture_default_str();

  DumpOptions dump_options;
  std::string dump_out;
  auto* dump = app.add_subcommand(
      "dump", "write a checkpoint's logits, loss and gradients on a random batch (for tools/torch_check.py)");
  dump->add_option("--checkpoint", checkpoint, "checkpoint file (.h5)")->required();
  dump->add_option("--out", dump_out, "output file (.h5)")->required();
  dump->add_option("-c,--config", config, "recipe to use instead of the one stored in the checkpoint");
  dump->add_option("--set", overrides, "override a recipe value, e.g. --set train.device=cuda (repeatable)");
  dump->add_option("--batch", dump_options.batch, "sequences")->capture_default_str();
  dump->add_option("--seq-len", dump_options.seq_len, "tokens per sequence")->capture_default_str();
  dump->add_option("--seed", dump_options.seed, "seed of the random token ids")->capture_default_str();
  dump->add_option("--tokens", dump_options.tokens_path,
                   "ids to use instead of random ones: whitespace-separated ids or a token shard (its first "
                   "batch x (seq-len + 1))");
  dump->add_option("--dtype", dump_options.dtype, "parameter dtype: f32, or f64 (cpu only, exact comparisons)")
      ->transform(CLI::CheckedTransformer(std::map<std::string, DType>{{"f32", DType::F32}, {"f64", DType::F64}}))
      ->default_str("f32");

  std::string convert_from_hf, convert_to_hf_checkpoint, convert_out;
  auto* convert = app.add_subcommand(
      "convert", "Hugging Face MambaForCausalLM checkpoints in and out: --from-hf DIR --out RUN_DIR, or "
                 "--to-hf CHECKPOINT --out DIR");
  auto* from_hf_opt = convert->add_option("--from-hf", convert_from_hf,
                                          "a Hugging Face model folder (config.json and model.safetensors, or its "
                                          "shards with model.safetensors.index.json)");
  auto* to_hf_opt = convert->add_option("--to-hf", convert_to_hf_checkpoint, "a Krait checkpoint (.h5)");
  from_hf_opt->excludes(to_hf_opt);
  convert->add_option("--out", convert_out, "the run directory (--from-hf) or model folder (--to-hf) to write")
      ->required();

  int64_t data_batches = 200;
  auto* bench_data_cmd = bench->add_subcommand(
      "data", "time the recipe's training data: opening it, then batches through the prefetching sampler");
  bench_data_cmd->add_option("-c,--config", config, "recipe YAML file (its data section)")
      ->required()
      ->check(CLI::ExistingFile);
  bench_data_cmd->add_option("--set", overrides, "override a recipe value (repeatable)");
  bench_data_cmd->add_option("--batches", data_batches, "batches to draw")->capture_default_str();

  std::string scan_mode;
  auto* bench_scan_cmd = bench->add_subcommand(
      "scan", "time the CUDA selective scan at the Mamba shapes against a naive scan and the floors");
  bench_scan_cmd->add_option("mode", scan_mode, "a number of shapes (1-4, default all) or 'sweep' (L = 2K..1M)");

  GenerateBenchOptions generate_bench;
  auto* bench_generate_cmd = bench->add_subcommand(
      "generate", "time recurrent generation: random prompts, one prefill, then greedy steps on the device");
  bench_generate_cmd->add_option("-c,--config", config, "recipe YAML file (its model, train.device and precision)")
      ->required()
      ->check(CLI::ExistingFile);
  bench_generate_cmd->add_option("--set", overrides, "override a recipe value (repeatable)");
  bench_generate_cmd->add_option("--batch", generate_bench.batch, "sequences at once")->capture_default_str();
  bench_generate_cmd->add_option("--prompt-len", generate_bench.prompt_len, "prompt tokens")->capture_default_str();
  bench_generate_cmd->add_option("--new-tokens", generate_bench.new_tokens, "tokens generated per sequence")
      ->capture_default_str();
  bench_generate_cmd->add_option("--repeats", generate_bench.repeats, "timed runs (the median is reported)")
      ->capture_default_str();

  std::string attention_shape;
  auto* bench_attention_cmd = bench->add_subcommand(
      "attention", "time the CUDA causal attention (bf16) forward and backward: ms and TFLOP/s at Transformer++ shapes");
  bench_attention_cmd->add_option("--shape", attention_shape, "one shape B,L,H,Dh instead of the built-in ones");

  LaunchOptions launch_options;
  auto* launch_cmd = app.add_subcommand(
      "launch", "run N ranks of a krait command on this machine, one per GPU: krait launch --nproc N -- train -c RECIPE");
  launch_cmd->add_option("--nproc", launch_options.nproc, "ranks (processes) to start")->required();
  launch_cmd->add_option("--master-port", launch_options.master_port, "rank 0's rendezvous port (default: a free one)");
  launch_cmd->add_option("command", launch_options.command, "the krait subcommand and its arguments, after --")
      ->required();

  std::string sweep_file;
  SweepRunOptions sweep_options;
  auto* sweep = app.add_subcommand("sweep", "scaling-law sweeps: a grid of krait train runs from a sweep file");
  sweep->require_subcommand(1);
  auto* sweep_run = sweep->add_subcommand(
      "run", "train every run of the sweep not yet finished (resumes interrupted ones; safe to kill and restart)");
  sweep_run->add_option("sweep", sweep_file, "sweep YAML file")->required()->check(CLI::ExistingFile);
  sweep_run->add_option("--gpus", sweep_options.gpus, "one run per listed GPU at a time, e.g. --gpus 0,1,2,3")
      ->delimiter(',');
  sweep_run->add_option("--parallel", sweep_options.parallel, "without --gpus: runs at a time")->capture_default_str();
  sweep_run->add_flag("--dry-run", sweep_options.dry_run, "print the runs and their krait train commands only");
  auto* sweep_status = sweep->add_subcommand("status", "print the sweep's runs and their states");
  sweep_status->add_option("sweep", sweep_file, "sweep YAML file")->required()->check(CLI::ExistingFile);
  bool report_offset = false;
  std::string report_out;
  auto* sweep_report = sweep->add_subcommand(
      "report", "table, CSV, power-law fits of loss vs FLOPs per arch, and plots (SVG and PNG) of the sweep's runs");
  sweep_report->add_option("sweep", sweep_file, "sweep YAML file")->required()->check(CLI::ExistingFile);
  sweep_report->add_flag("--fit-offset", report_offset, "fit L = e + a C^-b instead of L = a C^-b");
  sweep_report->add_option("--out", report_out, "report folder (default: the sweep's out/report)");

  GenerateOptions generate_options;
  std::string prompt_file, generate_device, generate_tokenizer;
  auto* generate_cmd = app.add_subcommand(
      "generate", "generate text from a Mamba language model's checkpoint (bytes or BPE: data.tokenizer), token by token");
  generate_cmd->add_option("--checkpoint", checkpoint, "checkpoint file (.h5)")->required();
  auto* prompt_opt = generate_cmd->add_option("--prompt", generate_options.prompt, "the text to continue");
  generate_cmd->add_option("--prompt-file", prompt_file, "a file whose text to continue")
      ->check(CLI::ExistingFile)
      ->excludes(prompt_opt);
  generate_cmd->add_option("--max-new-tokens", generate_options.max_new_tokens, "stop after this many tokens")
      ->capture_default_str();
  generate_cmd->add_option("--temperature", generate_options.sampling.temperature, "0 = greedy")
      ->capture_default_str();
  generate_cmd->add_option("--top-k", generate_options.sampling.top_k, "draw from the k most likely (0 = all)")
      ->capture_default_str();
  generate_cmd->add_option("--top-p", generate_options.sampling.top_p, "nucleus: the most likely with this mass")
      ->capture_default_str();
  generate_cmd->add_option("--seed", generate_options.seed, "seed of the sampling")->capture_default_str();
  generate_cmd->add_option("--batch", generate_options.batch, "sequences from the same prompt, sampled independently")
      ->capture_default_str();
  generate_cmd->add_option("--device", generate_device, "cpu or cuda[:N] (default: the recipe's train.device)");
  generate_cmd->add_option("--tokenizer", generate_tokenizer,
                           "bytes, or a BPE tokenizer.json / encoder.json / directory (default: the recipe's data.tokenizer)");

  bool describe_recipe = false;
  auto* recipe_cmd =
      app.add_subcommand("recipe", "the recipe reference: every key with its type, default and meaning (--describe)");
  recipe_cmd->add_flag("--describe", describe_recipe, "print every recipe key with its type, default, allowed values and meaning "
                       "(markdown; docs/recipe.md is this output)")
      ->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (*train)
      return run_train(config, overrides, force_nccl,
                       allow_recipe_change ? RecipeChangePolicy::AllowResumable : RecipeChangePolicy::Refuse);
    if (*eval) return run_eval(checkpoint, config, overrides, eval_lengths);
    if (*info) return run_info(checkpoint);
    if (*bench_train_cmd) return run_bench_train(config, overrides, bench_options);
    if (*bench_scan_cmd) {
      require_cuda_device("bench scan");
      return bench_scan(scan_mode);
    }
    if (*bench_attention_cmd) {
      require_cuda_device("bench attention");
      return bench_attention(attention_shape);
    }
    if (*bench_generate_cmd) return run_bench_generate(config, overrides, generate_bench);
    if (*bench_data_cmd) {
      const Recipe recipe = load_recipe(config, overrides);
      print_data_bench(recipe, bench_data(recipe, data_batches), std::cout);
      return 0;
    }
    if (*dump) return run_dump(checkpoint, config, overrides, dump_options, dump_out);
    if (*launch_cmd) return launch(launch_options, std::cout, std::cerr);
    if (*sweep_run) return run_sweep(sweep_file, sweep_options, std::cout);
    if (*sweep_report) return run_sweep_report(sweep_file, report_offset, report_out, std::cout);
    if (*sweep_status) {
      print_sweep_status(sweep_file, std::cout);
      return 0;
    }
    if (*convert) return run_convert(convert_from_hf, convert_to_hf_checkpoint, convert_out);
    if (*generate_cmd)
      return run_generate(checkpoint, generate_options, prompt_file, generate_device, generate_tokenizer);
    if (*recipe_cmd) {
      std::cout << recipe_reference_markdown();
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "krait: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
