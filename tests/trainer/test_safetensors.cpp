// train/safetensors and train/json: the writer and reader round trip (F32 bit for bit; every F16 and
// BF16 pattern converted exactly, against an independent formula), the header layout, every
// malformed-file error, and the sharded index.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "tests/support/error_text.h"
#include "tests/support/temp_dir.h"
#include "common/json.h"
#include "train/safetensors.h"

namespace krait::train {
namespace {

using krait::testing::error_text;
using krait::testing::mentions;
using krait::testing::TempDir;

// A file of an 8-byte length, `header` as given, then `data`.
void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);
  krait::testing::write_text(path, bytes + header + data);
}

// f16 from its definition: (-1)^s x 2^(e-15) x 1.m, subnormals 2^-14 x 0.m, e = 31 inf / NaN.
double f16_reference(uint16_t bits) {
  const double sign = (bits >> 15) ? -1.0 : 1.0;
  const int e = (bits >> 10) & 0x1F, m = bits & 0x3FF;
  if (e == 31) return m ? NAN : sign * INFINITY;
  if (e == 0) return sign * std::ldexp(m, -24);
  return sign * std::ldexp(1024 + m, e - 25);
}

TEST(Safetensors, F32RoundTripIsBitExactAndHeaderIsPadded) {
  TempDir dir;
  const std::vector<float> values = {0.0f, -0.0f, 1.5f, -3.25e-40f, INFINITY, -INFINITY, std::nanf(""), 1e30f,
                                     std::bit_cast<float>(0x7FC12345u), 7.0f, 8.0f, 9.0f};
  SafetensorsWriter w;
  w.add_f32("b.weight", {3, 4}, values);
  w.add_f32("a", {2, 0}, {});
  w.add_f32("scalar", {}, {42.0f});
  w.set_metadata("format", "pt");
  w.write(dir.file("m.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.safetensors.tmp")));

  const std::vector<char> bytes = krait::testing::read_bytes(dir.file("m.safetensors"));
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "the header is padded to 8-byte alignment";
  EXPECT_EQ(bytes.size(), 8 + n + (12 + 1) * 4);
  const std::string header(bytes.data() + 8, n);
  EXPECT_EQ(header.substr(0, header.find_last_not_of(' ') + 1),
            "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[0,0]},"
            "\"b.weight\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]},"
            "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[48,52]}}");

  const SafetensorsReader r(dir.file("m.safetensors"));
  EXPECT_EQ(r.metadata().at("format"), "pt");
  ASSERT_EQ(r.tensors().size(), 3u);
  EXPECT_EQ(r.info("b.weight").shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(r.info("a").numel, 0);
  EXPECT_EQ(r.info("scalar").numel, 1);
  const std::vector<float> back = r.read("b.weight");
  ASSERT_EQ(back.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>(back[i]), std::bit_cast<uint32_t>(values[i])) << i;
  }
  EXPECT_EQ(r.read("scalar"), std::vector<float>{42.0f});
  EXPECT_TRUE(r.read("a").empty());
}

TEST(Safetensors, EveryF16AndBf16PatternConvertsExactly) {
  TempDir dir;
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  SafetensorsWriter w;
  w.add_16bit("h", "F16", {256, 256}, all);
  w.add_16bit("b", "BF16", {65536}, all);
  w.write(dir.file("m.safetensors"));
  const SafetensorsReader r(dir.file("m.safetensors"));
  const std::vector<float> h = r.read("h"), b = r.read("b");
  for (uint32_t i = 0; i < 65536; ++i) {
    const double ref = f16_reference(static_cast<uint16_t>(i));
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(h[i])) << std::hex << i;
      ASSERT_EQ(std::bit_cast<uint32_t>(h[i]) >> 13, ((i & 0x8000u) << 3) | 0x3FC00u | (i & 0x3FFu))
          << "sign and payload kept " << std::hex << i;
    } else {
      ASSERT_EQ(static_cast<double>(h[i]), ref) << std::hex << i;
      ASSERT_EQ(std::signbit(h[i]), (i & 0x8000u) != 0) << std::hex << i;
    }
    // bf16 is the top half of an f32: the same bits, shifted.
    ASSERT_EQ(std::bit_cast<uint32_t>(b[i]), i << 16) << std::hex << i;
  }
  EXPECT_EQ(f16_bits_to_float(0x0001), std::ldexp(1.0f, -24)) << "smallest subnormal";
  EXPECT_EQ(f16_bits_to_float(0x7C00), INFINITY);
  EXPECT_EQ(bf16_bits_to_float(0x0001), std::ldexp(1.0f, -133)) << "an f32 subnormal";
}

TEST(Safetensors, MalformedFilesAreRejectedNamingFileAndTensor) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  auto error_for = [&](const std::string& header, const std::string& data) {
    write_raw(path, header, data);
    return error_text([&] { SafetensorsReader r(path); });
  };
  const std::string four(4, '\0');
  auto entry = [](const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return "\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
  };

  krait::testing::write_text(path, "abc");
  std::string e = error_text([&] { SafetensorsReader r(path); });
  EXPECT_TRUE(mentions(e, path)) << e;
  EXPECT_TRUE(mentions(e, "too short")) << e;
  EXPECT_TRUE(mentions(error_text([&] { SafetensorsReader r(dir.file("missing")); }), "cannot open"));

  // The header length runs past the end of the file (a truncated file).
  std::string bytes(8, '\0');
  const uint64_t n = 1000;
  std::memcpy(bytes.data(), &n, 8);
  krait::testing::write_text(path, bytes + "{}");
  EXPECT_TRUE(mentions(error_text([&] { SafetensorsReader r(path); }), "header length 1000 does not fit"));

  e = error_for("{\"t\": {\"dtype\": \"F32\",", "");
  EXPECT_TRUE(mentions(e, "malformed JSON")) << e;
  EXPECT_TRUE(mentions(e, path)) << e;
  EXPECT_TRUE(mentions(error_for("{\"t\":1,\"t\":2}", ""), "duplicate key \"t\"")) << "duplicate names";
  EXPECT_TRUE(mentions(error_for("[1, 2]", ""), "must be a JSON object"));
  EXPECT_TRUE(mentions(error_for("{\"t\":[]}", ""), "tensor 't': expected an object"));

  e = error_for("{" + entry("F32", "[1]", "[0,8]") + "}", four);
  EXPECT_TRUE(mentions(e, "tensor 't'")) << e;
  EXPECT_TRUE(mentions(e, "not within the data section of 4 bytes")) << e;
  EXPECT_TRUE(mentions(error_for("{" + entry("F32", "[1]", "[4,0]") + "}", four), "not within"));
  e = error_for("{" + entry("F32", "[2]", "[0,4]") + "}", four);
  EXPECT_TRUE(mentions(e, "hold 4 bytes but 2 F32 elements take 8")) << e;
  EXPECT_TRUE(mentions(error_for("{" + entry("F32", "[-1]", "[0,4]") + "}", four), "non-negative integers"));
  EXPECT_TRUE(mentions(error_for("{" + entry("F32", "[1.5]", "[0,4]") + "}", four), "non-negative integers"));
  EXPECT_TRUE(mentions(error_for("{" + entry("F32", "[1]", "[0]") + "}", four), "data_offsets must be"));
  e = error_for("{" + entry("F31", "[1]", "[0,4]") + "}", four);
  EXPECT_TRUE(mentions(e, "tensor 't': unknown dtype 'F31'")) << e;
  EXPECT_TRUE(mentions(error_for("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", four), "needs dtype, shape"));
  EXPECT_TRUE(mentions(error_for("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", four),
                       "unknown key 'x'"));
  EXPECT_TRUE(mentions(error_for("{\"__metadata__\":{\"k\":1}}", ""), "__metadata__ 'k' must be a string"));

  e = error_for("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                std::string(8, '\0'));
  EXPECT_TRUE(mentions(e, "tensors 'a' [0, 8) and 'b' [4, 8) overlap")) << e;

  // A dtype the format defines but Krait does not read: named when read.
  write_raw(path, "{" + entry("I32", "[1]", "[0,4]") + "}", four);
  const SafetensorsReader r(path);
  e = error_text([&] { r.read("t"); });
  EXPECT_TRUE(mentions(e, "tensor 't' has dtype I32; Krait reads F32, F16 and BF16")) << e;
  EXPECT_TRUE(mentions(error_text([&] { r.read("u"); }), "no tensor 'u'"));
}

// Found while fuzzing the reader: numel x 4 bytes wrapped around 64 bits, so [2^62] F32 elements
// "took" 0 bytes, the header passed, and read() threw std::length_error instead of a krait::Error.
TEST(Safetensors, ShapeWhoseByteCountWrapsAround64BitsIsRejected) {
  TempDir dir;
  const std::string path = dir.file("wrap.safetensors");
  for (const std::string shape : {"[4611686018427387904]", "[2147483648,2147483648]"}) {
    write_raw(path, "{\"t\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,0]}}", "");
    const std::string e = error_text([&] { SafetensorsReader r(path); });
    EXPECT_TRUE(mentions(e, "tensor 't': data_offsets [0, 0] hold 0 bytes but 4611686018427387904 F32 elements "
                            "take more than 2^64")) << e;
  }
}

TEST(Safetensors, ShardedIndex) {
  TempDir dir;
  SafetensorsWriter one, two;
  one.add_f32("a", {2}, {1.0f, 2.0f});
  two.add_f32("b", {1}, {3.0f});
  two.add_f32("c", {1}, {4.0f});
  one.write(dir.file("model-00001-of-00002.safetensors"));
  two.write(dir.file("model-00002-of-00002.safetensors"));
  const std::string index = dir.file("model.safetensors.index.json");
  krait::testing::write_text(index, R"({"metadata": {"total_size": 16}, "weight_map": {
      "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",
      "c": "model-00002-of-00002.safetensors"}})");
  const SafetensorsSet set(dir.path());
  EXPECT_EQ(set.names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(set.read("a"), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(set.read("c"), std::vector<float>{4.0f});
  EXPECT_EQ(set.file_of("b"), dir.file("model-00002-of-00002.safetensors"));
  EXPECT_TRUE(mentions(error_text([&] { set.read("d"); }), "no tensor 'd'"));

  krait::testing::write_text(index, R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
      "b": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}})");
  std::string e = error_text([&] { SafetensorsSet s(dir.path()); });
  EXPECT_TRUE(mentions(e, "puts 'b' in")) << e;
  krait::testing::write_text(index, R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
      "b": "model-00002-of-00002.safetensors"}})");
  e = error_text([&] { SafetensorsSet s(dir.path()); });
  EXPECT_TRUE(mentions(e, "holds 'c', which weight_map does not put there")) << e;
  krait::testing::write_text(index, R"({"weight_map": {"a": "../x.safetensors"}})");
  EXPECT_TRUE(mentions(error_text([&] { SafetensorsSet s(dir.path()); }), "must name a file in the same folder"));
  krait::testing::write_text(index, R"({"weights": {}})");
  EXPECT_TRUE(mentions(error_text([&] { SafetensorsSet s(dir.path()); }), "\"weight_map\""));

  TempDir empty;
  EXPECT_TRUE(mentions(error_text([&] { SafetensorsSet s(empty.path()); }), "holds neither model.safetensors"));
}

TEST(Json, ParsesStrictly) {
  const JsonValue v = parse_json(R"( {"a": [1, -2.5e3, true, false, null], "s": "x\"\u00e9\ud83d\ude00",
                                      "big": 18446744073709551615, "i": 9007199254740993} )", "t");
  ASSERT_TRUE(v.is_object());
  const JsonValue& a = *v.find("a");
  ASSERT_EQ(a.items.size(), 5u);
  EXPECT_EQ(a.items[0].integer(), 1);
  EXPECT_EQ(a.items[1].number(), -2500.0);
  EXPECT_FALSE(a.items[1].is_integer());
  EXPECT_TRUE(a.items[2].boolean);
  EXPECT_EQ(a.items[4].kind, JsonValue::Kind::Null);
  EXPECT_EQ(v.find("s")->text, "x\"\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_FALSE(v.find("big")->is_integer()) << "beyond int64";
  EXPECT_EQ(v.find("i")->integer(), 9007199254740993) << "integers are exact beyond 2^53";
  EXPECT_EQ(v.find("nope"), nullptr);
  for (const char* bad : {"", "{", "{\"a\" 1}", "[1,]", "01", "1.", "-", "\"\\x\"", "\"a\nb\"", "tru", "{} x",
                          "{\"a\":1,}", "\"\\ud800\"", "'a'"}) {
    EXPECT_TRUE(mentions(error_text([&] { parse_json(bad, "f.json"); }), "f.json: malformed JSON")) << bad;
  }
  EXPECT_TRUE(mentions(error_text([&] { parse_json(std::string(100, '[') + std::string(100, ']'), "f"); }),
                       "deeper than 64"));
  EXPECT_EQ(json_quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
}

}  // namespace
}  // namespace krait::train
