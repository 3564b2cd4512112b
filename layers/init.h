// layers/init.h — parameter construction and the initializers the reference implementation uses,
// all drawing from one seeded krait::Rng so a seed gives the same model.
#pragma once

#include <functional>
#include <string>

#include "autograd/parameter.h"
#include "common/rng.h"

namespace krait::init {

// A leaf parameter of `shape` whose elements are value(i) in row-major order.
Parameter make(const std::string& name, const Shape& shape, const TensorOptions& options,
               const std::function<double(int64_t)>& value, ParamTags tags = {});

Parameter uniform(const std::string& name, const Shape& shape, const TensorOptions& options, Rng& rng, double bound,
                  ParamTags tags = {});
Parameter normal(const std::string& name, const Shape& shape, const TensorOptions& options, Rng& rng, double std,
                 ParamTags tags = {});
Parameter constant(const std::string& name, const Shape& shape, const TensorOptions& options, double value,
                   ParamTags tags = {});

// PyTorch's default for Linear and Conv weights (kaiming_uniform with a = sqrt(5)) is
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)); so is its default bias.
inline double default_bound(int64_t fan_in) { return 1.0 / std::sqrt(static_cast<double>(fan_in)); }

}  // namespace krait::init
