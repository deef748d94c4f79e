// Logging facade implementation (spdlog-backed when available).
#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#if defined(SPATTEN_HAVE_SPDLOG)
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#endif

namespace spatten::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

#if defined(SPATTEN_HAVE_SPDLOG)
spdlog::logger& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("spatten");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    l->set_level(spdlog::level::trace);
    return l;
  }();
  return *logger;
}
#endif

}  // namespace

void SetLevel(Level level) { g_level.store(level); }

bool ParseLevel(std::string_view name, Level* level) {
  if (name == "debug") *level = Level::kDebug;
  else if (name == "info") *level = Level::kInfo;
  else if (name == "warn" || name == "warning") *level = Level::kWarn;
  else if (name == "error") *level = Level::kError;
  else return false;
  return true;
}

void Write(Level level, std::string_view message) {
  if (level < g_level.load()) return;
#if defined(SPATTEN_HAVE_SPDLOG)
  switch (level) {
    case Level::kDebug: Logger().debug("{}", message); break;
    case Level::kInfo: Logger().info("{}", message); break;
    case Level::kWarn: Logger().warn("{}", message); break;
    case Level::kError: Logger().error("{}", message); break;
  }
#else
  static std::mutex mu;
  static const char* names[] = {"debug", "info", "warn", "error"};
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "%s %.*s\n", names[static_cast<int>(level)],
               static_cast<int>(message.size()), message.data());
#endif
}

}  // namespace spatten::log
