// Private helpers shared by the loaders (elf.cpp, raw.cpp, linux_boot.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "piemu/error.hpp"

namespace piemu {

class Bus;

namespace loader {

/// The largest input file read (1 GiB): more than the RAM of any board, and more than
/// any kernel, initrd, DTB or ELF image for a 32-bit guest needs.
constexpr uint64_t kMaxFileSize = uint64_t(1) << 30;

/// Reads the whole file, a regular file or a pipe of at most kMaxFileSize bytes. Fails
/// with "<path>: cannot open: <strerror>", "<path>: cannot read: ..." (also for a
/// directory or a device), "<path>: too large: ..." or "<path>: empty file".
ErrorOr<std::vector<uint8_t>> read_file(const std::string& path);

/// "0x00000000-0x3fffffff": the RAM range for error messages (inclusive end).
std::string ram_range(const Bus& bus);

/// True when [addr, addr + size) lies in guest memory (RAM or an extra region).
/// A zero-sized range is accepted when `addr` itself is memory or the RAM end.
bool fits_in_memory(const Bus& bus, uint64_t addr, uint64_t size);

/// Fails with "<path>: <what> of 0x... bytes at 0x... does not fit in RAM (range)"
/// unless [addr, addr + size) is guest memory.
ErrorOr<void> check_fits(const std::string& path, const char* what, uint64_t addr, uint64_t size,
                         const Bus& bus);

/// An Error whose message is "<path>: <what>".
template <typename... Args>
Error file_error(const std::string& path, fmt::format_string<Args...> format, Args&&... args) {
    return Error{path + ": " + fmt::format(format, std::forward<Args>(args)...)};
}

} // namespace loader
} // namespace piemu
