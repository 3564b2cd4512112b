// layers/transformer_config.cpp — TransformerConfig's derived fields and validation, and the table of
// named sizes.
#include "layers/transformer_config.h"

#include "common/error.h"

namespace krait {

int64_t TransformerConfig::resolved_d_ff() const {
  if (d_ff > 0) return d_ff;
  constexpr int64_t kMultiple = 128;
  return (8 * d_model / 3 + kMultiple - 1) / kMultiple * kMultiple;
}

void TransformerConfig::validate() const {
  auto positive = [](const char* field, auto value) {
    KRAIT_CHECK(value > 0, "model config: ", field, " must be > 0 (got ", value, ")");
  };
  positive("d_model", d_model);
  positive("n_layer", n_layer);
  positive("n_head", n_head);
  positive("vocab_size", vocab_size);
  positive("pad_vocab_size_multiple", pad_vocab_size_multiple);
  positive("rope_theta", rope_theta);
  positive("norm_eps", norm_eps);
  positive("init_std", init_std);
  KRAIT_CHECK(d_ff >= 0, "model config: d_ff must be > 0 or auto (got ", d_ff, ")");
  KRAIT_CHECK(d_model % n_head == 0, "model config: n_head (", n_head, ") must divide d_model (", d_model, ")");
  KRAIT_CHECK(head_dim() % 2 == 0, "model config: the head width d_model / n_head = ", head_dim(),
              " must be even (rotary embeddings rotate pairs); change n_head");
}

const std::vector<TransformerSize>& transformer_sizes() {
  static const std::vector<TransformerSize> sizes = {
      {"125M", 12, 768, 12}, {"350M", 24, 1024, 16}, {"760M", 24, 1536, 16}, {"1.3B", 24, 2048, 32}};
  return sizes;
}

const TransformerSize& transformer_size(const std::string& name) {
  std::string names;
  for (const TransformerSize& size : transformer_sizes()) {
    if (size.name == name) return size;
    names += (names.empty() ? "" : ", ") + size.name;
  }
  KRAIT_FAIL("model.size: unknown size '", name, "'; expected one of ", names);
}

}  // namespace krait
