// The boot stub (firmware/boot/armstub.S): what the Pi firmware does before a
// kernel runs, placed at physical 0 for raw images and the Linux boot protocol.
#pragma once

#include <cstdint>
#include <span>

namespace piemu {

/// The assembled stub (generated at build time).
std::span<const uint8_t> boot_stub_image();

/// Offset of the parameter block in the stub: entry, r0, r1, r2 (little-endian words).
constexpr uint32_t kBootStubParams = 0xc0;
/// Bytes of RAM at physical 0 the stub occupies.
constexpr uint32_t kBootStubSize = kBootStubParams + 16;

} // namespace piemu
