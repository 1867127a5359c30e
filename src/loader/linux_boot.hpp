// The Linux boot protocol as the Pi firmware performs it (linux_boot.cpp).
#pragma once

#include <cstdint>
#include <utility>

#include "piemu/loader.hpp"

namespace piemu {

/// load_linux(), and also what the Pi firmware writes into the device tree: the
/// memory node's `reg` becomes `memory` (base, size), the ARM's share of the RAM.
/// (The kernel must not see the VideoCore's part below the peripherals as System
/// RAM; Debian's DTBs say 1 GiB, which covers the peripherals at 0x3f000000.)
ErrorOr<LoadedImage> load_linux(const LinuxBootParams& params, Bus& bus,
                                std::pair<uint32_t, uint32_t> memory);

} // namespace piemu
