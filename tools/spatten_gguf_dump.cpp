// spatten-gguf-dump: prints a GGUF file's header, metadata and tensor table, then a summary of
// tensor counts and bytes per type. Exits non-zero with the loader's message on a bad file.
//
// Usage: spatten-gguf-dump MODEL.gguf [--max-array N]
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "engine/gguf/gguf.h"

namespace {

int Usage() {
  std::fprintf(stderr, "usage: spatten-gguf-dump MODEL.gguf [--max-array N]\n");
  return 2;
}

std::string Shape(const spatten::gguf::TensorInfo& t) {
  std::string s = "[";
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(t.shape[i]);
  }
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  size_t max_array = 8;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--max-array" && i + 1 < argc) {
      char* end = nullptr;
      max_array = std::strtoull(argv[++i], &end, 10);
      if (end == nullptr || *end != '\0') return Usage();
    } else if (a == "-h" || a == "--help") {
      Usage();
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      return Usage();
    } else if (path.empty()) {
      path = a;
    } else {
      return Usage();
    }
  }
  if (path.empty()) return Usage();

  auto file = spatten::gguf::GgufFile::Open(path);
  if (!file.ok()) {
    std::fprintf(stderr, "spatten-gguf-dump: %s\n", file.status().ToString().c_str());
    return 1;
  }
  const auto& f = *file;
  std::printf("file: %s\n", path.c_str());
  std::printf("gguf version: %u, file size: %llu bytes, alignment: %u, data offset: %llu\n",
              f.version(), static_cast<unsigned long long>(f.file_size()), f.alignment(),
              static_cast<unsigned long long>(f.data_offset()));
  std::printf("\nmetadata: %zu keys\n", f.metadata().size());
  for (const auto& [key, value] : f.metadata()) {
    std::printf("  %-44s %-7s %s\n", key.c_str(),
                std::string(spatten::gguf::ValueTypeName(value.type)).c_str(),
                value.ToString(max_array).c_str());
  }
  std::printf("\ntensors: %zu\n", f.tensors().size());
  std::printf("  %-5s %-40s %-6s %-22s %12s %12s\n", "#", "name", "type", "shape", "elements", "bytes");
  struct Totals { size_t count = 0; unsigned long long bytes = 0, elems = 0; };
  std::map<std::string, Totals> by_type;
  unsigned long long total_bytes = 0, total_elems = 0;
  size_t idx = 0;
  for (const auto& t : f.tensors()) {
    std::printf("  %-5zu %-40s %-6s %-22s %12llu %12llu\n", idx++, t.name.c_str(),
                std::string(t.type.name).c_str(), Shape(t).c_str(),
                static_cast<unsigned long long>(t.n_elements), static_cast<unsigned long long>(t.n_bytes));
    auto& tot = by_type[std::string(t.type.name)];
    ++tot.count;
    tot.bytes += t.n_bytes;
    tot.elems += t.n_elements;
    total_bytes += t.n_bytes;
    total_elems += t.n_elements;
  }
  std::printf("\nsummary by type:\n");
  for (const auto& [name, tot] : by_type) {
    std::printf("  %-6s %4zu tensors %14llu elements %12llu bytes (%.2f MiB)\n", name.c_str(), tot.count,
                tot.elems, tot.bytes, static_cast<double>(tot.bytes) / (1024.0 * 1024.0));
  }
  std::printf("  total  %4zu tensors %14llu elements %12llu bytes (%.2f MiB, %.3f bits/weight)\n",
              f.tensors().size(), total_elems, total_bytes,
              static_cast<double>(total_bytes) / (1024.0 * 1024.0),
              total_elems ? 8.0 * static_cast<double>(total_bytes) / static_cast<double>(total_elems) : 0.0);
  return 0;
}
