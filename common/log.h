// Logging facade. Uses spdlog when the build found it, plain stderr otherwise (the GPU machine
// builds the kernel library and its tests without Debian's -dev packages). Logs always go to
// stderr so that tools can stream their results on stdout.
#pragma once

#include <string>
#include <string_view>

namespace spatten::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void SetLevel(Level level);
// Parses "debug", "info", "warn", "error"; returns false on anything else.
bool ParseLevel(std::string_view name, Level* level);
void Write(Level level, std::string_view message);

}  // namespace spatten::log

#define SPATTEN_LOG_DEBUG(msg) ::spatten::log::Write(::spatten::log::Level::kDebug, (msg))
#define SPATTEN_LOG_INFO(msg) ::spatten::log::Write(::spatten::log::Level::kInfo, (msg))
#define SPATTEN_LOG_WARN(msg) ::spatten::log::Write(::spatten::log::Level::kWarn, (msg))
#define SPATTEN_LOG_ERROR(msg) ::spatten::log::Write(::spatten::log::Level::kError, (msg))
