// train/run_summary.cpp — make_run_summary, to_json, write_run_summary and read_run_summary (see
// run_summary.h). The summary is read back with the strict YAML reader: a flat JSON object is YAML.
#include "train/run_summary.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "train/flops.h"
#include "common/json.h"
#include "train/metrics_log.h"
#include "train/trainer.h"
#include "train/yaml_reader.h"

namespace krait::train {
namespace {

// A measured value, or null for NaN.
std::string number_or_null(double v) { return std::isnan(v) ? "null" : json_number(v); }

// A number, or NaN for null; the key becomes read either way.
double read_number_or_null(MapReader& in, const YAML::Node& root, const std::string& key) {
  if (root[key] && root[key].IsNull()) {
    std::string ignored;
    in.read(key, ignored);
    return std::nan("");
  }
  double value = 0;
  in.read(key, value);
  return value;
}

}  // namespace

RunSummary make_run_summary(const Recipe& recipe, const Model& model, const TrainSummary& train) {
  RunSummary s;
  s.backbone = recipe.model.backbone;
  s.task = task_name(recipe.model.task);
  s.d_model = recipe.model.d_model();
  s.n_layer = recipe.model.n_layer();
  s.params_total = model.num_parameters();
  s.params_non_embedding = s.params_total - embedding_parameters(recipe.model);
  s.seq_len = recipe.data.seq_len;
  s.batch_size = recipe.data.batch_size;
  s.steps = train.last_step;
  s.tokens = train.last_step * recipe.tokens_per_step();
  s.final_train_loss = train.final_train_loss;
  s.final_eval_loss = train.final_eval_loss;
  s.final_eval_accuracy = train.final_eval_accuracy;
  s.train_flops = double(s.tokens) * flops_per_token(recipe.model, s.params_total, s.seq_len);
  s.flops_formula = flops_formula(recipe.model);
  s.wall_s = train.wall_s;
  s.lr = recipe.optim.lr;
  return s;
}

std::string to_json(const RunSummary& s) {
  std::ostringstream out;
  bool first = true;
  const auto field = [&out, &first](const char* key, const std::string& value) {
    out << (first ? "{\n" : ",\n") << "  \"" << key << "\": " << value;
    first = false;
  };
  const auto integer = [](int64_t v) { return std::to_string(v); };
  field("version", integer(s.version));
  field("status", json_quote(s.status));
  field("backbone", json_quote(s.backbone));
  field("task", json_quote(s.task));
  field("d_model", integer(s.d_model));
  field("n_layer", integer(s.n_layer));
  field("params_total", integer(s.params_total));
  field("params_non_embedding", integer(s.params_non_embedding));
  field("seq_len", integer(s.seq_len));
  field("batch_size", integer(s.batch_size));
  field("steps", integer(s.steps));
  field("tokens", integer(s.tokens));
  field("final_train_loss", number_or_null(s.final_train_loss));
  field("final_eval_loss", number_or_null(s.final_eval_loss));
  field("final_eval_accuracy", number_or_null(s.final_eval_accuracy));
  field("train_flops", json_number(s.train_flops));
  field("flops_formula", json_quote(s.flops_formula));
  field("wall_s", json_number(s.wall_s));
  field("lr", json_number(s.lr));
  field("recipe", json_quote(s.recipe));
  out << "\n}\n";
  return out.str();
}

void write_run_summary(const RunSummary& summary, const std::filesystem::path& path) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << to_json(summary);
    out.flush();
    KRAIT_CHECK(out.good(), "cannot write run summary '", tmp.string(), "'");
  }
  std::filesystem::rename(tmp, path);
}

RunSummary read_run_summary(const std::filesystem::path& path) {
  const std::string file = path.string();
  const YAML::Node root = load_yaml_file(file, "run summary");
  KeyLocations where(file);
  MapReader in(root, "", where);
  RunSummary s;
  for (const char* key : {"version", "status", "backbone", "task", "d_model", "n_layer", "params_total",
                          "params_non_embedding", "seq_len", "batch_size", "steps", "tokens", "final_train_loss",
                          "final_eval_loss", "final_eval_accuracy", "train_flops", "flops_formula", "wall_s", "lr",
                          "recipe"})
    in.require(key);
  in.read("version", s.version);
  if (s.version != kRunSummaryVersion)
    where.fail("version", "version: " + std::to_string(s.version) + " is not a summary version this krait reads (" +
                              std::to_string(kRunSummaryVersion) + ")");
  in.read("status", s.status);
  in.read("backbone", s.backbone);
  in.read("task", s.task);
  in.read("d_model", s.d_model);
  in.read("n_layer", s.n_layer);
  in.read("params_total", s.params_total);
  in.read("params_non_embedding", s.params_non_embedding);
  in.read("seq_len", s.seq_len);
  in.read("batch_size", s.batch_size);
  in.read("steps", s.steps);
  in.read("tokens", s.tokens);
  s.final_train_loss = read_number_or_null(in, root, "final_train_loss");
  s.final_eval_loss = read_number_or_null(in, root, "final_eval_loss");
  s.final_eval_accuracy = read_number_or_null(in, root, "final_eval_accuracy");
  in.read("train_flops", s.train_flops);
  in.read("flops_formula", s.flops_formula);
  in.read("wall_s", s.wall_s);
  in.read("lr", s.lr);
  in.read("recipe", s.recipe);
  in.finish();
  return s;
}

}  // namespace krait::train
