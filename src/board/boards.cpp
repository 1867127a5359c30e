#include "piemu/machine.hpp"

namespace piemu {

// CPU clocks are the boards' default ARM frequencies (Pi 2 B: 900 MHz, Pi 3 B:
// 1.2 GHz); CNTFRQ is what the Pi firmware programs (19.2 MHz crystal). MPIDR: the
// BCM2836 reports cluster 0xf, the BCM2837 cluster 0 (the DTs' cpu `reg` values).
// The raspi3b's Cortex-A53 cores run in AArch32 and are modelled by the Cortex-A7
// core model: same ISA as seen from AArch32 PL1, but MIDR reads as an A7 and the
// ARMv8 AArch32 additions (CRC32, the v8 barriers, LDA/STL) are Unicorn's A7 set.
const std::vector<BoardInfo>& boards() {
    static const std::vector<BoardInfo> list = {
        {"raspi2b", "Raspberry Pi 2 Model B (BCM2836, 4x Cortex-A7, 1 GiB)", 1u << 30, 900'000'000,
         0x3f000000, 19'200'000, 4, 0x80000f00},
        {"raspi3b", "Raspberry Pi 3 Model B (BCM2837, 4x Cortex-A53 in AArch32, 1 GiB)", 1u << 30,
         1'200'000'000, 0x3f000000, 19'200'000, 4, 0x80000000},
    };
    return list;
}

const BoardInfo* find_board(const std::string& name) {
    for (auto& b : boards())
        if (b.name == name)
            return &b;
    return nullptr;
}

} // namespace piemu
