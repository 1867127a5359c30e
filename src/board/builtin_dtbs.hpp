// The board device trees compiled from boards/*.dts at build time and embedded.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace piemu {

/// The DTB of a built-in board ("raspi2b"), or an empty span.
std::span<const uint8_t> builtin_dtb(std::string_view board);

} // namespace piemu
