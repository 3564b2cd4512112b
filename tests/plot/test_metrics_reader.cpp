// tests/plot/test_metrics_reader.cpp — the metrics-file reader: the trainer's lines, JSON number
// and string forms, blank lines, "nan" values, and malformed lines reported with file:line.
#include <gtest/gtest.h>

#include <sstream>

#include "common/error.h"
#include "tools/plot/metrics_reader.h"

namespace krait::plot {
namespace {

std::vector<Record> parse(const std::string& text) {
  std::istringstream in(text);
  return parse_metrics(in, "run/metrics.jsonl");
}

// The message of the krait::Error parsing `text` throws, or "" (and a failure) when it throws none.
std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << text;
  return "";
}

TEST(MetricsReader, ParsesTheTrainersLines) {
  const auto records = parse(
      R"({"kind":"train","step":12,"tokens":24576,"loss":3.21,"lr":0.0012,"grad_norm":0.81,"tokens_per_s":12000.5,"elapsed_s":3.25})"
      "\n"
      R"({"kind":"eval","step":50,"tokens":102400,"loss":2.9,"ppl":18.17,"bpb":4.18})"
      "\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind, "train");
  EXPECT_EQ(records[0].values, (std::map<std::string, double>{{"step", 12},
                                                              {"tokens", 24576},
                                                              {"loss", 3.21},
                                                              {"lr", 0.0012},
                                                              {"grad_norm", 0.81},
                                                              {"tokens_per_s", 12000.5},
                                                              {"elapsed_s", 3.25}}));
  EXPECT_EQ(records[1].kind, "eval");
  EXPECT_EQ(records[1].values.at("bpb"), 4.18);
  EXPECT_EQ(records[1].values.size(), 5u);
}

TEST(MetricsReader, TakesKeysInAnyOrderAndIgnoresNonNumbers) {
  const auto records =
      parse(R"(  { "loss" : 1.5 , "note":"hi", "ok":true, "bad":false, "x":null, "kind":"train", "step":3 }  )");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].kind, "train");
  EXPECT_EQ(records[0].values, (std::map<std::string, double>{{"loss", 1.5}, {"step", 3}}));
}

TEST(MetricsReader, LeavesOutArraysSuchAsAConfusionMatrix) {
  const auto records = parse(
      R"({"kind":"eval","step":5,"accuracy":0.5,"confusion":[[1, 2], [3, 4]],"classes":["a","b"],"e":[]})" "\n");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].values, (std::map<std::string, double>{{"step", 5}, {"accuracy", 0.5}}));
}

TEST(MetricsReader, ReadsEveryJsonNumberForm) {
  const auto records = parse(R"({"kind":"k","a":0,"b":-7,"c":0.25,"d":1e3,"e":-2.5E-2,"f":6E+1,"g":-0})");
  const auto& v = records.at(0).values;
  EXPECT_EQ(v.at("a"), 0);
  EXPECT_EQ(v.at("b"), -7);
  EXPECT_EQ(v.at("c"), 0.25);
  EXPECT_EQ(v.at("d"), 1000);
  EXPECT_DOUBLE_EQ(v.at("e"), -0.025);
  EXPECT_EQ(v.at("f"), 60);
  EXPECT_EQ(v.at("g"), 0);
}

TEST(MetricsReader, LeavesOutNanAndInfinityStrings) {
  const auto records = parse(R"({"kind":"train","step":5,"loss":"nan","grad_norm":"inf","lr":"-inf"})");
  EXPECT_EQ(records.at(0).values, (std::map<std::string, double>{{"step", 5}}));
}

TEST(MetricsReader, DecodesStringEscapes) {
  const auto records = parse(R"({"kind":"tr\u0061in","a\"b\\c\/\n\t\u00e9\ud83d\ude00":1})");
  EXPECT_EQ(records.at(0).kind, "train");
  EXPECT_EQ(records[0].values.begin()->first, "a\"b\\c/\n\t\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(MetricsReader, SkipsBlankLinesAndCountsThemInLineNumbers) {
  const auto records = parse("\n   \n{\"kind\":\"train\",\"step\":1}\n\t\r\n{\"kind\":\"eval\",\"step\":2}\r\n\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].kind, "eval");
  EXPECT_NE(parse_error("\n\n{\"kind\":\"train\"}\n\n{\"kind\":\"train\",}\n").find("run/metrics.jsonl:5:"),
            std::string::npos);
}

TEST(MetricsReader, RejectsMalformedLinesNamingFileLineAndColumn) {
  EXPECT_EQ(parse_error(R"({"kind":"train","step":1,})"), R"(run/metrics.jsonl:1:26: expected '"', found '}')");
  EXPECT_EQ(parse_error(R"({"kind":"train","loss":NaN})"), "run/metrics.jsonl:1:24: expected a value");
  const char* malformed[] = {
      R"({"kind":"train")",                 // no closing brace
      R"("kind":"train"})",                 // no opening brace
      R"({"kind":"train"} x)",              // text after the object
      R"({"kind":"train"}{"kind":"eval"})",  // two objects
      R"({kind:"train"})",                  // unquoted key
      R"({'kind':'train'})",                // single quotes
      R"({"kind" "train"})",                // no colon
      R"({"kind":"train" "step":1})",       // no comma
      R"({"kind":"train","step":01})",      // leading zero
      R"({"kind":"train","step":+1})",      // plus sign
      R"({"kind":"train","loss":1.})",      // no digit after the point
      R"({"kind":"train","loss":.5})",      // no digit before the point
      R"({"kind":"train","loss":1e})",      // empty exponent
      R"({"kind":"train","loss":1e999})",   // out of range
      R"({"kind":"train","ok":tru})",       // misspelt literal
      R"({"kind":"train","a":{"b":1}})",    // nested object
      R"({"kind":"train","a":[1,})",        // unterminated array
      R"({"kind":"train","a":[{"b":1}]})",  // object in an array
      R"({"kind":"train","step":1,"step":2})",  // duplicate key
      R"({"kind":"tra)",                    // unterminated string
      R"({"kind":"tr\x"})",                 // bad escape
      R"({"kind":"\ud83d"})",               // unpaired surrogate
      R"({"kind":"\u12"})",                 // short \u escape
      "{\"kind\":\"a\tb\"}",                // raw control character
      R"({"step":1})",                      // no kind
      R"({"kind":3})",                      // kind not a string
      R"([])",                              // not an object
  };
  for (const char* line : malformed) {
    const std::string message = parse_error(std::string("{\"kind\":\"train\"}\n") + line + "\n");
    EXPECT_EQ(message.rfind("run/metrics.jsonl:2:", 0), 0u) << line << " -> " << message;
  }
}

TEST(MetricsReader, ReadMetricsNamesAFileItCannotOpen) {
  try {
    read_metrics("/nonexistent/krait/metrics.jsonl");
    ADD_FAILURE() << "expected a krait::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/krait/metrics.jsonl"), std::string::npos);
  }
}

}  // namespace
}  // namespace krait::plot
