// BCM2835 system timer, DT compatible "brcm,bcm2835-system-timer": at 0x3f003000 (bus
// address 0x7e003000, reg size 0x1000) on the Pi 2 and 3, interrupts GPU IRQ 0-3.
//
// Modelled after BCM2835 ARM Peripherals, chapter 12 "System Timer" (which BCM2836 and
// BCM2837 share): a 64-bit free-running counter at 1 MHz and four 32-bit compare
// channels; channel n matches when the counter's low 32 bits become equal to Cn, which
// sets CS.Mn and raises match line n until the guest writes 1 to CS.Mn.
//
// The counter is the virtual clock read at 1 MHz, clock.ticks_at(1'000'000): it is 0 at
// machine reset and never written. Each match is a TimerEvent at the exact CPU cycle
// where the counter reaches the compare value (see bcm2835_systimer.cpp for the
// reasoning behind each modelled choice).
//
// Not modelled:
//  - the VideoCore's claim on C0 and C2 (chapter 12 and Linux's DT leave C1 and C3 to
//    the ARM): no GPU firmware runs in piemu, so all four channels belong to the guest
//    and nothing else ever writes a compare register;
//  - writes to CLO and CHI: the counter is read-only (logged as a guest error);
//  - "stopped whenever the processor is stopped in debug mode" (12.1) needs no code:
//    virtual time advances only while guest instructions retire.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

class Bcm2835Systimer final : public Device {
public:
    /// Register offsets, BCM2835 ARM Peripherals 12.1. All 32 bits wide.
    enum class Reg : uint32_t {
        Cs = 0x00,  ///< RW 4: M3..M0 match flags [3:0]; write 1 to clear; bits above read 0
        Clo = 0x04, ///< RO: counter [31:0]
        Chi = 0x08, ///< RO: counter [63:32]
        C0 = 0x0c,  ///< RW 32: compare for channel 0 (GPU IRQ 0)
        C1 = 0x10,  ///< RW 32: compare for channel 1 (GPU IRQ 1)
        C2 = 0x14,  ///< RW 32: compare for channel 2 (GPU IRQ 2)
        C3 = 0x18,  ///< RW 32: compare for channel 3 (GPU IRQ 3)
    };
    static constexpr uint32_t kMmioSize = 0x1000;
    static constexpr unsigned kChannels = 4;
    /// The counter's rate: 1 MHz on every BCM283x (the DT's clock-frequency).
    static constexpr uint64_t kCounterHz = 1'000'000;

    Bcm2835Systimer(std::string name, VirtualClock& clock);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// CS 0 (all lines low), C0-C3 0. The counter is not state of the device: it reads
    /// the virtual clock, which is 0 at machine reset. Each channel is re-armed for the
    /// next time the counter's low word equals its compare value.
    void reset() override;

    /// The four match lines in DT `interrupts` order: M0..M3 = GPU IRQ 0..3.
    std::vector<IrqLine*> irq_outputs() override;
    /// Match line of `channel` (0-3): high while CS.M<channel> is set.
    IrqLine& irq(unsigned channel);

    /// The 64-bit free-running counter now, as CLO/CHI read it.
    uint64_t counter() const { return clock_.ticks_at(kCounterHz); }

private:
    uint32_t read_reg(uint32_t offset) const;
    void write_reg(uint32_t offset, uint32_t value);
    /// The register's value for merging a sub-word write (0 for CS: write-1-to-clear).
    uint32_t merge_base(uint32_t offset) const;
    void update();

    TimerEvent make_match_timer(unsigned channel);
    void arm_compare(unsigned channel);
    void match(unsigned channel);

    VirtualClock& clock_;
    std::array<IrqLine, kChannels> irq_;
    std::array<TimerEvent, kChannels> match_timer_;

    // Registers.
    uint32_t cs_ = 0;
    std::array<uint32_t, kChannels> compare_{};
    // Counter value (all 64 bits) of each channel's next match: always in the future
    // of the counter when armed, and congruent to the compare value modulo 2^32.
    std::array<uint64_t, kChannels> next_match_{};
};

} // namespace piemu
