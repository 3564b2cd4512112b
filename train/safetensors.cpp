// train/safetensors.cpp — SafetensorsReader, SafetensorsSet and SafetensorsWriter (see safetensors.h).
#include "train/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "common/error.h"
#include "common/unique_fd.h"
#include "common/json.h"

namespace krait::train {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian, as this host");

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // as Hugging Face's reader
const char* const kIndexFile = "model.safetensors.index.json";
const char* const kSingleFile = "model.safetensors";

// Bytes per element of every dtype the format defines; 0 for a name it does not.
uint64_t dtype_size(const std::string& dtype) {
  static const std::map<std::string, uint64_t> sizes = {
      {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"U16", 2}, {"I16", 2}, {"F16", 2},
      {"BF16", 2}, {"U32", 4}, {"I32", 4}, {"F32", 4}, {"U64", 8}, {"I64", 8}, {"F64", 8}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

std::string read_file_range(const std::string& path, uint64_t offset, uint64_t count) {
  std::ifstream in(path, std::ios::binary);
  KRAIT_CHECK(in, "safetensors '", path, "': cannot open: ", std::strerror(errno));
  std::string bytes(count, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(bytes.data(), static_cast<std::streamsize>(count));
  KRAIT_CHECK(in && static_cast<uint64_t>(in.gcount()) == count, "safetensors '", path, "': cannot read ", count,
              " bytes at offset ", offset);
  return bytes;
}

SafetensorInfo parse_entry(const std::string& path, const std::string& name, const JsonValue& entry,
                           uint64_t data_bytes) {
  const std::string where = "safetensors '" + path + "': tensor '" + name + "'";
  KRAIT_CHECK(entry.is_object(), where, ": expected an object, got a ", json_kind_name(entry));
  for (const auto& [key, value] : entry.members) {
    KRAIT_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", where, ": unknown key '", key,
                "' (expected dtype, shape, data_offsets)");
  }
  const JsonValue* dtype = entry.find("dtype");
  const JsonValue* shape = entry.find("shape");
  const JsonValue* offsets = entry.find("data_offsets");
  KRAIT_CHECK(dtype && shape && offsets, where, ": needs dtype, shape and data_offsets");
  KRAIT_CHECK(dtype->kind == JsonValue::Kind::String, where, ": dtype must be a string");
  SafetensorInfo info;
  info.dtype = dtype->text;
  const uint64_t itemsize = dtype_size(info.dtype);
  KRAIT_CHECK(itemsize > 0, where, ": unknown dtype '", info.dtype, "'");

  KRAIT_CHECK(shape->kind == JsonValue::Kind::Array, where, ": shape must be an array of integers");
  for (const JsonValue& d : shape->items) {
    KRAIT_CHECK(d.is_integer() && d.integer() >= 0, where, ": shape entries must be non-negative integers, got ",
                d.text.empty() ? json_kind_name(d) : d.text);
    const int64_t dim = d.integer();
    KRAIT_CHECK(dim == 0 || info.numel <= std::numeric_limits<int64_t>::max() / dim, where,
                ": the shape's element count overflows");
    info.shape.push_back(dim);
    info.numel *= dim;
  }

  KRAIT_CHECK(offsets->kind == JsonValue::Kind::Array && offsets->items.size() == 2 &&
                  offsets->items[0].is_integer() && offsets->items[1].is_integer() &&
                  offsets->items[0].integer() >= 0 && offsets->items[1].integer() >= 0,
              where, ": data_offsets must be [begin, end], two non-negative integers");
  info.begin = static_cast<uint64_t>(offsets->items[0].integer());
  info.end = static_cast<uint64_t>(offsets->items[1].integer());
  KRAIT_CHECK(info.begin <= info.end && info.end <= data_bytes, where, ": data_offsets [", info.begin, ", ",
              info.end, "] are not within the data section of ", data_bytes, " bytes");
  // By division: numel x itemsize can wrap around 64 bits ([2^62] F32 elements "take" 0 bytes).
  const uint64_t held = info.end - info.begin;
  KRAIT_CHECK(held % itemsize == 0 && held / itemsize == static_cast<uint64_t>(info.numel), where, ": data_offsets [",
              info.begin, ", ", info.end, "] hold ", held, " bytes but ", info.numel, " ", info.dtype, " elements take ",
              static_cast<uint64_t>(info.numel) <= UINT64_MAX / itemsize
                  ? std::to_string(static_cast<uint64_t>(info.numel) * itemsize)
                  : "more than 2^64");
  return info;
}

}  // namespace

float f16_bits_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits >> 15) << 31;
  uint32_t exponent = (bits >> 10) & 0x1F, mantissa = bits & 0x3FF;
  if (exponent == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));  // inf, NaN
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<float>(sign);
    // A subnormal, mantissa x 2^-24: shift its leading 1 into the implicit bit.
    uint32_t e = 127 - 15 + 1;
    while ((mantissa & 0x400) == 0) {
      mantissa <<= 1;
      --e;
    }
    return std::bit_cast<float>(sign | (e << 23) | ((mantissa & 0x3FF) << 13));
  }
  return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

float bf16_bits_to_float(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
  std::error_code ec;
  const uint64_t file_bytes = std::filesystem::file_size(path, ec);
  KRAIT_CHECK(!ec, "safetensors '", path, "': cannot open: ", ec.message());
  KRAIT_CHECK(file_bytes >= 8, "safetensors '", path, "': ", file_bytes,
              " bytes, too short for the 8-byte header length");
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, read_file_range(path, 0, 8).data(), 8);
  KRAIT_CHECK(header_bytes <= kMaxHeaderBytes && header_bytes <= file_bytes - 8, "safetensors '", path,
              "': header length ", header_bytes, " does not fit in the file of ", file_bytes, " bytes",
              header_bytes > kMaxHeaderBytes ? " (or the 100 MB limit)" : "");
  data_start_ = 8 + header_bytes;
  const uint64_t data_bytes = file_bytes - data_start_;

  const JsonValue header = parse_json(read_file_range(path, 8, header_bytes), "safetensors '" + path + "' header");
  KRAIT_CHECK(header.is_object(), "safetensors '", path, "': the header must be a JSON object, got a ",
              json_kind_name(header));
  for (const auto& [name, entry] : header.members) {
    if (name == "__metadata__") {
      KRAIT_CHECK(entry.is_object(), "safetensors '", path, "': __metadata__ must be an object of strings");
      for (const auto& [key, value] : entry.members) {
        KRAIT_CHECK(value.kind == JsonValue::Kind::String, "safetensors '", path, "': __metadata__ '", key,
                    "' must be a string, got a ", json_kind_name(value));
        metadata_[key] = value.text;
      }
      continue;
    }
    tensors_[name] = parse_entry(path, name, entry, data_bytes);
  }

  // No two tensors share a byte: sorted by begin, each ends before the next begins.
  std::vector<std::pair<const std::string*, const SafetensorInfo*>> order;
  for (const auto& [name, info] : tensors_) order.emplace_back(&name, &info);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->begin != b.second->begin ? a.second->begin < b.second->begin : a.second->end < b.second->end;
  });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& [prev_name, prev] = order[i - 1];
    const auto& [name, info] = order[i];
    KRAIT_CHECK(info->begin >= prev->end || info->begin == info->end || prev->begin == prev->end, "safetensors '",
                path, "': tensors '", *prev_name, "' [", prev->begin, ", ", prev->end, ") and '", *name, "' [",
                info->begin, ", ", info->end, ") overlap");
  }
}

const SafetensorInfo& SafetensorsReader::info(const std::string& name) const {
  const auto it = tensors_.find(name);
  KRAIT_CHECK(it != tensors_.end(), "safetensors '", path_, "': no tensor '", name, "'");
  return it->second;
}

std::vector<float> SafetensorsReader::read(const std::string& name) const {
  const SafetensorInfo& t = info(name);
  KRAIT_CHECK(t.dtype == "F32" || t.dtype == "F16" || t.dtype == "BF16", "safetensors '", path_, "': tensor '", name,
              "' has dtype ", t.dtype, "; Krait reads F32, F16 and BF16");
  const std::string bytes = read_file_range(path_, data_start_ + t.begin, t.end - t.begin);
  std::vector<float> values(static_cast<size_t>(t.numel));
  if (t.dtype == "F32") {
    if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());  // memcpy(nullptr, ..., 0) is UB
    return values;
  }
  float (*convert)(uint16_t) = t.dtype == "F16" ? f16_bits_to_float : bf16_bits_to_float;
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t bits = 0;
    std::memcpy(&bits, bytes.data() + 2 * i, 2);
    values[i] = convert(bits);
  }
  return values;
}

SafetensorsSet::SafetensorsSet(const std::string& dir) : dir_(dir) {
  const std::filesystem::path folder(dir);
  const std::filesystem::path index = folder / kIndexFile;
  if (!std::filesystem::exists(index)) {
    const std::filesystem::path single = folder / kSingleFile;
    KRAIT_CHECK(std::filesystem::exists(single), "'", dir, "' holds neither ", kSingleFile, " nor ", kIndexFile);
    files_.push_back(std::make_unique<SafetensorsReader>(single.string()));
    for (const auto& [name, info] : files_.back()->tensors()) where_[name] = files_.back().get();
    return;
  }
  const std::string where = index.string();
  std::ifstream in(index, std::ios::binary);
  KRAIT_CHECK(in, "'", where, "': cannot open: ", std::strerror(errno));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const JsonValue root = parse_json(text, where);
  const JsonValue* map = root.is_object() ? root.find("weight_map") : nullptr;
  KRAIT_CHECK(map && map->is_object(), "'", where, "': expected an object with a \"weight_map\" object");
  std::map<std::string, const SafetensorsReader*> shards;
  for (const auto& [name, file] : map->members) {
    KRAIT_CHECK(file.kind == JsonValue::Kind::String && !file.text.empty() &&
                    file.text.find('/') == std::string::npos && file.text != "." && file.text != "..",
                "'", where, "': weight_map['", name, "'] must name a file in the same folder");
    auto& shard = shards[file.text];
    if (shard == nullptr) {
      files_.push_back(std::make_unique<SafetensorsReader>((folder / file.text).string()));
      shard = files_.back().get();
    }
    KRAIT_CHECK(shard->has(name), "'", where, "': weight_map puts '", name, "' in ", shard->path(),
                ", which does not hold it");
    where_[name] = shard;
  }
  for (const auto& file : files_) {
    for (const auto& [name, info] : file->tensors()) {
      KRAIT_CHECK(where_.count(name) && where_.at(name) == file.get(), "'", where, "': ", file->path(),
                  " holds '", name, "', which weight_map does not put there");
    }
  }
}

std::vector<std::string> SafetensorsSet::names() const {
  std::vector<std::string> out;
  for (const auto& [name, reader] : where_) out.push_back(name);
  return out;
}

const SafetensorsReader& SafetensorsSet::reader_of(const std::string& name) const {
  const auto it = where_.find(name);
  KRAIT_CHECK(it != where_.end(), "'", dir_, "': the weights hold no tensor '", name, "'");
  return *it->second;
}

const SafetensorInfo& SafetensorsSet::info(const std::string& name) const { return reader_of(name).info(name); }
std::vector<float> SafetensorsSet::read(const std::string& name) const { return reader_of(name).read(name); }
const std::string& SafetensorsSet::file_of(const std::string& name) const { return reader_of(name).path(); }

void SafetensorsWriter::add(const std::string& name, Entry entry, size_t count) {
  KRAIT_CHECK(!name.empty() && name != "__metadata__", "SafetensorsWriter: invalid tensor name '", name, "'");
  KRAIT_CHECK(!entries_.count(name), "SafetensorsWriter: tensor '", name, "' added twice");
  size_t numel = 1;
  for (const int64_t d : entry.shape) {
    KRAIT_CHECK(d >= 0, "SafetensorsWriter: tensor '", name, "' has a negative dimension ", d);
    numel *= static_cast<size_t>(d);
  }
  KRAIT_CHECK(numel == count, "SafetensorsWriter: tensor '", name, "' has ", count, " values for a shape of ",
              numel, " elements");
  entries_[name] = std::move(entry);
}

void SafetensorsWriter::add_f32(const std::string& name, const std::vector<int64_t>& shape,
                                const std::vector<float>& values) {
  Entry e{"F32", shape, std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4)};
  add(name, std::move(e), values.size());
}

void SafetensorsWriter::add_16bit(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
                                  const std::vector<uint16_t>& bits) {
  KRAIT_CHECK(dtype == "F16" || dtype == "BF16", "SafetensorsWriter: tensor '", name, "': dtype ", dtype,
              " is not a 16-bit float (F16, BF16)");
  Entry e{dtype, shape, std::string(reinterpret_cast<const char*>(bits.data()), bits.size() * 2)};
  add(name, std::move(e), bits.size());
}

void SafetensorsWriter::write(const std::string& path) const {
  std::string header = "{";
  if (!metadata_.empty()) {
    header += "\"__metadata__\":{";
    for (auto it = metadata_.begin(); it != metadata_.end(); ++it) {
      header += (it == metadata_.begin() ? "" : ",") + json_quote(it->first) + ":" + json_quote(it->second);
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const auto& [name, e] : entries_) {
    if (header.size() > 1) header += ",";
    header += json_quote(name) + ":{\"dtype\":\"" + e.dtype + "\",\"shape\":[";
    for (size_t i = 0; i < e.shape.size(); ++i) header += (i ? "," : "") + std::to_string(e.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + e.bytes.size()) + "]}";
    offset += e.bytes.size();
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  const std::string temp = path + ".tmp";
  {
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    KRAIT_CHECK(fd, "safetensors '", path, "': cannot create ", temp, ": ", std::strerror(errno));
    auto put = [&](const char* data, size_t size) {
      while (size > 0) {
        const ssize_t n = ::write(fd.get(), data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          const std::string why = std::strerror(errno);
          std::filesystem::remove(temp);
          KRAIT_FAIL("safetensors '", path, "': cannot write ", temp, ": ", why);
        }
        data += n;
        size -= static_cast<size_t>(n);
      }
    };
    const uint64_t header_bytes = header.size();
    put(reinterpret_cast<const char*>(&header_bytes), 8);
    put(header.data(), header.size());
    for (const auto& [name, e] : entries_) put(e.bytes.data(), e.bytes.size());
    KRAIT_CHECK(::fsync(fd.get()) == 0, "safetensors '", path, "': fsync of ", temp, ": ", std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp);
    KRAIT_FAIL("safetensors '", path, "': cannot rename ", temp, " onto it: ", ec.message());
  }
}

}  // namespace krait::train
