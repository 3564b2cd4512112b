// tools/plot/metrics_reader.h — Record and the metrics-file reader: a small, strict parser for
// Krait's JSON Lines metrics (one flat object per line, as train/metrics_log.h writes them).
#pragma once

#include <istream>
#include <map>
#include <string>
#include <vector>

namespace krait::plot {

// One line of the metrics file: its "kind" ("train", "eval", ...) and its finite numeric fields.
// Values written as the strings "nan", "inf" or "-inf", other strings, booleans, null and arrays are left out.
struct Record {
  std::string kind;
  std::map<std::string, double> values;
};

// Parses one line holding a flat JSON object whose values are strings, numbers, booleans, null or arrays.
// Throws krait::Error naming `where` (e.g. "metrics.jsonl:7") and the column on malformed input,
// a nested object, a duplicate key, or a missing or non-string "kind".
Record parse_record(const std::string& line, const std::string& where);

// Reads every non-blank line of `in`; `name` is the file name errors report with the line number.
std::vector<Record> parse_metrics(std::istream& in, const std::string& name);

// Reads the metrics file at `path`; throws krait::Error when it cannot be opened or a line is malformed.
std::vector<Record> read_metrics(const std::string& path);

}  // namespace krait::plot
