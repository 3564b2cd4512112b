// train/sweep_spec.cpp — read_sweep and expand_sweep (see sweep_spec.h).
#include "train/sweep_spec.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "common/error.h"
#include "layers/transformer_config.h"
#include "train/flops.h"
#include "train/recipe.h"
#include "train/yaml_reader.h"

namespace krait::train {
namespace {

// Chinchilla's compute-optimal budget (Hoffmann et al. 2022): 20 training tokens per parameter.
constexpr int64_t kChinchillaTokensPerParameter = 20;
// A size's depth is the Transformer's; every other backbone (Mamba) stacks twice as many blocks.
constexpr int64_t kBlocksPerTransformerLayer = 2;
// Explicit sizes give the Transformer heads of this width.
constexpr int64_t kHeadWidth = 64;

// The Mamba paper's names of the Table 12 rows, for the GPT-3 names transformer_sizes() knows.
const std::map<std::string, std::string>& mamba_size_aliases() {
  static const std::map<std::string, std::string> aliases = {
      {"130M", "125M"}, {"370M", "350M"}, {"790M", "760M"}, {"1.4B", "1.3B"}};
  return aliases;
}

bool filesystem_safe(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string item_path(const std::string& key, size_t i) { return key + "[" + std::to_string(i) + "]"; }

// The items of the list under key: absent is empty (or an error when required), anything but a
// non-empty list an error. Each item's line is recorded under "key[i]".
std::vector<YAML::Node> list_items(MapReader& in, KeyLocations& where, const std::string& key, bool required) {
  const YAML::Node node = in.node(key);
  if (!node.IsDefined()) {
    if (required) in.require(key);
    return {};
  }
  if (!node.IsSequence() || node.size() == 0)
    where.fail(key, key + ": expected a non-empty list");
  std::vector<YAML::Node> items(node.begin(), node.end());
  for (size_t i = 0; i < items.size(); ++i) where.add_line(item_path(key, i), items[i].Mark());
  return items;
}

// A list item read with MapReader's typed reads (so with its messages), located at its own line.
template <typename T>
T read_item(const YAML::Node& item, const std::string& path, KeyLocations& where) {
  YAML::Node wrap(YAML::NodeType::Map);
  wrap[path] = item;
  MapReader in(wrap, "", where);
  T value{};
  in.read(path, value);
  return value;
}

// The `set` mapping's overrides as "key.path=value", values in YAML flow style.
// path: the mapping holding `set` ("" for the top level).
std::vector<std::string> read_sets(MapReader& in, KeyLocations& where, const std::string& path) {
  const std::string set = path.empty() ? "set" : path + ".set";
  const YAML::Node node = in.node("set");
  if (!node.IsDefined()) return {};
  if (!node.IsMap()) where.fail(set, set + ": expected a mapping of key.path: value");
  std::vector<std::string> sets;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar(), at = set + "." + key;
    where.add_line(at, it->first.Mark());
    if (it->second.IsMap()) where.fail(at, at + ": give dotted keys (model.backbone: mamba), not a mapping");
    if (it->second.IsNull()) where.fail(at, at + ": expected a value");
    YAML::Emitter value;
    value << YAML::Flow << it->second;
    sets.push_back(key + "=" + value.c_str());
  }
  return sets;
}

SweepArch read_arch(const YAML::Node& item, const std::string& path, KeyLocations& where) {
  if (!item.IsMap()) where.fail(path, path + ": expected {name: NAME, set: {key.path: value}}");
  MapReader in(item, path, where);
  SweepArch arch;
  in.require("name");
  in.read("name", arch.name);
  if (!filesystem_safe(arch.name))
    where.fail(path + ".name", path + ".name: '" + arch.name + "' must be letters, digits, '-', '_' or '.'");
  arch.sets = read_sets(in, where, path);
  in.finish();
  return arch;
}

SweepSize named_size(const std::string& name, const std::string& path, KeyLocations& where) {
  const auto alias = mamba_size_aliases().find(name);
  const std::string gpt3 = alias == mamba_size_aliases().end() ? name : alias->second;
  for (const TransformerSize& s : transformer_sizes())
    if (s.name == gpt3) return {name, s.d_model, s.n_layer, s.n_head};
  std::string names;
  for (const TransformerSize& s : transformer_sizes()) names += s.name + ", ";
  for (const auto& [mamba, gpt3_name] : mamba_size_aliases()) names += mamba + ", ";
  where.fail(path, path + ": unknown size '" + name + "'; expected one of " + names +
                       "or {d_model: D, n_layer: L}");
}

SweepSize read_size(const YAML::Node& item, const std::string& path, KeyLocations& where) {
  if (item.IsScalar()) return named_size(item.Scalar(), path, where);
  if (!item.IsMap()) where.fail(path, path + ": expected a size name or {d_model: D, n_layer: L}");
  MapReader in(item, path, where);
  SweepSize size;
  std::string name;
  if (in.read("name", name)) {
    size = named_size(name, path + ".name", where);
  } else {
    in.require("d_model");
    in.require("n_layer");
  }
  const bool d_model = in.read("d_model", size.d_model), n_layer = in.read("n_layer", size.n_layer);
  if (!name.empty() && (d_model || n_layer))
    where.fail(path + ".name", path + ": give a size name or d_model and n_layer, not both");
  if (name.empty()) {
    if (size.d_model < 1) where.fail(path + ".d_model", path + ".d_model: expected >= 1");
    if (size.n_layer < 1) where.fail(path + ".n_layer", path + ".n_layer: expected >= 1");
    size.name = "d" + std::to_string(size.d_model) + "-l" + std::to_string(size.n_layer);
    size.n_head = std::max<int64_t>(1, size.d_model / kHeadWidth);
  }
  if (in.read("lr", size.lr) && size.lr <= 0) where.fail(path + ".lr", path + ".lr: expected > 0");
  in.finish();
  return size;
}

// "3e-3", "1.25e-3": short and filesystem-safe.
std::string lr_label(double lr) {
  const int exponent = static_cast<int>(std::floor(std::log10(lr)));
  char text[32];
  std::snprintf(text, sizeof text, "%.6ge%d", lr / std::pow(10.0, exponent), exponent);
  return text;
}

template <typename T>
void check_unique(const std::vector<T>& values, const std::string& key, KeyLocations& where) {
  std::set<T> seen;
  for (size_t i = 0; i < values.size(); ++i)
    if (!seen.insert(values[i]).second) where.fail(item_path(key, i), item_path(key, i) + ": listed twice");
}

// The backbone the base recipe names once the overrides are applied (mamba when it names none), read
// from the YAML alone: the recipe is not valid until a size has given its shape.
std::string backbone_of(const std::string& base, const std::vector<std::string>& sets) {
  YAML::Node root = load_yaml_file(base, "recipe file");
  KeyLocations where(base);
  for (const std::string& set : sets) apply_override(root, set, "--set " + set, where);
  const YAML::Node backbone = root.IsMap() && root["model"].IsMap() ? root["model"]["backbone"] : YAML::Node();
  return backbone.IsDefined() && backbone.IsScalar() ? backbone.Scalar() : "mamba";
}

}  // namespace

SweepSpec read_sweep(const std::filesystem::path& file) {
  const YAML::Node root = load_yaml_file(file.string(), "sweep file");
  KeyLocations where(file.string());
  MapReader in(root, "", where);
  SweepSpec spec;
  spec.file = file;
  std::string base, out;
  in.require("base");
  in.require("out");
  in.read("base", base);
  in.read("out", out);
  spec.base_recipe = file.parent_path() / base;
  spec.out_dir = out;
  spec.sets = read_sets(in, where, "");

  const auto archs = list_items(in, where, "archs", true);
  for (size_t i = 0; i < archs.size(); ++i) spec.archs.push_back(read_arch(archs[i], item_path("archs", i), where));
  const auto sizes = list_items(in, where, "sizes", true);
  for (size_t i = 0; i < sizes.size(); ++i) spec.sizes.push_back(read_size(sizes[i], item_path("sizes", i), where));
  const auto lrs = list_items(in, where, "lrs", false);
  for (size_t i = 0; i < lrs.size(); ++i) {
    spec.lrs.push_back(read_item<double>(lrs[i], item_path("lrs", i), where));
    if (spec.lrs.back() <= 0) where.fail(item_path("lrs", i), item_path("lrs", i) + ": expected > 0");
  }
  const auto seq_lens = list_items(in, where, "seq_lens", false);
  for (size_t i = 0; i < seq_lens.size(); ++i) {
    spec.seq_lens.push_back(read_item<int64_t>(seq_lens[i], item_path("seq_lens", i), where));
    if (spec.seq_lens.back() < 1) where.fail(item_path("seq_lens", i), item_path("seq_lens", i) + ": expected >= 1");
  }

  std::vector<std::string> arch_names, size_names;
  for (const SweepArch& a : spec.archs) arch_names.push_back(a.name);
  for (const SweepSize& s : spec.sizes) size_names.push_back(s.name);
  check_unique(arch_names, "archs", where);
  check_unique(size_names, "sizes", where);
  check_unique(spec.lrs, "lrs", where);
  check_unique(spec.seq_lens, "seq_lens", where);
  if (!spec.lrs.empty())
    for (size_t i = 0; i < spec.sizes.size(); ++i)
      if (spec.sizes[i].lr > 0)
        where.fail(item_path("sizes", i) + ".lr", item_path("sizes", i) + ".lr: the sweep has lrs; give one or the other");

  const YAML::Node tokens = in.node("tokens");
  const bool has_steps = in.read("steps", spec.length_value);
  if (tokens.IsDefined() && has_steps) where.fail_at_first_given({"tokens", "steps"}, "give tokens or steps, not both");
  if (has_steps) {
    spec.length = SweepLength::Steps;
  } else if (tokens.IsDefined() && tokens.IsScalar() && tokens.Scalar() == "chinchilla") {
    spec.length = SweepLength::Chinchilla;
  } else if (tokens.IsDefined()) {
    if (!tokens.IsScalar()) where.fail("tokens", "tokens: expected chinchilla or a number of tokens");
    spec.length = SweepLength::Tokens;
    spec.length_value = read_item<int64_t>(tokens, "tokens", where);
  }
  if (spec.length == SweepLength::Steps || spec.length == SweepLength::Tokens) {
    const char* key = has_steps ? "steps" : "tokens";
    if (spec.length_value < 1) where.fail(key, std::string(key) + ": expected >= 1");
  }
  if (in.read("warmup_fraction", spec.warmup_fraction) && (spec.warmup_fraction < 0 || spec.warmup_fraction > 1))
    where.fail("warmup_fraction", "warmup_fraction: expected a number in [0, 1]");
  in.finish();
  return spec;
}

std::vector<SweepRun> expand_sweep(const SweepSpec& spec) {
  const std::string base = spec.base_recipe.string();
  const std::string where = spec.file.string();
  std::vector<SweepRun> runs;
  std::set<std::string> names;
  for (const SweepArch& arch : spec.archs) {
    std::vector<std::string> arch_sets = spec.sets;
    arch_sets.insert(arch_sets.end(), arch.sets.begin(), arch.sets.end());
    const bool transformer = backbone_of(base, arch_sets) == "transformer";
    for (const SweepSize& size : spec.sizes) {
      std::vector<std::string> sized_sets = arch_sets;
      const std::string d_model = "model.d_model=" + std::to_string(size.d_model);
      if (transformer) {
        sized_sets.insert(sized_sets.end(), {d_model, "model.n_layer=" + std::to_string(size.n_layer),
                                             "model.n_head=" + std::to_string(size.n_head)});
      } else {
        sized_sets.insert(sized_sets.end(),
                          {d_model, "model.n_layer=" + std::to_string(kBlocksPerTransformerLayer * size.n_layer)});
      }
      const Recipe sized = [&] {
        try {
          return load_recipe(base, sized_sets);
        } catch (const Error& e) {
          throw Error(where + ": arch '" + arch.name + "', size '" + size.name + "': " + e.what());
        }
      }();
      const bool by_steps = sized.schedule.total_steps.has_value();
      const std::vector<double> lrs = !spec.lrs.empty() ? spec.lrs
                                      : size.lr > 0    ? std::vector<double>{size.lr}
                                                       : std::vector<double>{sized.optim.lr};
      const std::vector<int64_t> seq_lens =
          spec.seq_lens.empty() ? std::vector<int64_t>{sized.data.seq_len} : spec.seq_lens;
      for (const double lr : lrs) {
        for (const int64_t seq_len : seq_lens) {
          SweepRun run;
          run.arch = arch.name;
          run.size = size.name;
          run.lr = lr;
          run.seq_len = seq_len;
          run.name = arch.name + "-" + size.name + "-lr" + lr_label(lr);
          if (!spec.seq_lens.empty()) run.name += "-seq" + std::to_string(seq_len);
          run.run_dir = spec.out_dir / run.name;
          run.sets = sized_sets;
          run.sets.push_back("optim.lr=" + format_number(lr));
          run.sets.push_back("data.seq_len=" + std::to_string(seq_len));
          run.sets.push_back("train.run_dir=" + run.run_dir.string());
          try {
            const Recipe shaped = load_recipe(base, run.sets);
            const int64_t per_step = shaped.tokens_per_step();
            switch (spec.length) {
              case SweepLength::Base: run.steps = shaped.total_steps(); break;
              case SweepLength::Steps: run.steps = spec.length_value; break;
              case SweepLength::Tokens: run.steps = (spec.length_value + per_step - 1) / per_step; break;
              case SweepLength::Chinchilla: {
                const int64_t tokens = kChinchillaTokensPerParameter * count_parameters(shaped.model).total;
                run.steps = (tokens + per_step - 1) / per_step;
                break;
              }
            }
            if (spec.length != SweepLength::Base)
              run.sets.push_back(by_steps ? "schedule.total_steps=" + std::to_string(run.steps)
                                          : "schedule.total_tokens=" + std::to_string(run.steps * per_step));
            if (spec.warmup_fraction >= 0)
              run.sets.push_back("schedule.warmup_steps=" +
                                 std::to_string(static_cast<int64_t>(std::ceil(spec.warmup_fraction * double(run.steps)))));
            load_recipe(base, run.sets);
          } catch (const Error& e) {
            throw Error(where + ": run '" + run.name + "': " + e.what());
          }
          if (!names.insert(run.name).second) throw Error(where + ": two runs are named '" + run.name + "'");
          runs.push_back(std::move(run));
        }
      }
    }
  }
  return runs;
}

}  // namespace krait::train
