// layers/init.cpp — parameter initializers (see init.h).
#include "layers/init.h"

#include <cmath>
#include <vector>

namespace krait::init {

Parameter make(const std::string& name, const Shape& shape, const TensorOptions& options,
               const std::function<double(int64_t)>& value, ParamTags tags) {
  std::vector<double> values(shape_numel(shape));
  for (int64_t i = 0; i < static_cast<int64_t>(values.size()); ++i) values[i] = value(i);
  Tensor t = Tensor::from_vector(values, shape, options.dtype, options.device);
  t.set_requires_grad(true);
  return {name, t, tags};
}

Parameter uniform(const std::string& name, const Shape& shape, const TensorOptions& options, Rng& rng, double bound,
                  ParamTags tags) {
  return make(name, shape, options, [&](int64_t) { return rng.uniform(-bound, bound); }, tags);
}

Parameter normal(const std::string& name, const Shape& shape, const TensorOptions& options, Rng& rng, double std,
                 ParamTags tags) {
  return make(name, shape, options, [&](int64_t) { return rng.normal(0.0, std); }, tags);
}

Parameter constant(const std::string& name, const Shape& shape, const TensorOptions& options, double value,
                   ParamTags tags) {
  return make(name, shape, options, [value](int64_t) { return value; }, tags);
}

}  // namespace krait::init
