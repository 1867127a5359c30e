// A board for the fuzz targets: the builder's DTB -> devices on a Bus, with cores
// faked as in the board builder's tests (each core's timer and PMU lines, and pins
// that record the IRQ/FIQ levels the root controller drives).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <sys/mman.h>

#include "board/board_builder.hpp"
#include "fuzz_input.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"

namespace piemu::fuzz {

/// A core's interrupt pins: input 0 = IRQ, 1 = FIQ.
struct FakePins : IrqSink {
    std::array<bool, 2> level{};
    unsigned changes = 0;
    void set_irq_input(unsigned input, bool l) override {
        FUZZ_CHECK(input < 2);
        FUZZ_CHECK(level[input] != l); // IrqLine reports changes only
        level[input] = l;
        ++changes;
    }
};

struct FakeCores {
    explicit FakeCores(unsigned n) : timers(n), pmu(n), pins(n) {
        for (unsigned c = 0; c < n; ++c) {
            lines.timers.push_back({&timers[c][0], &timers[c][1], &timers[c][2], &timers[c][3]});
            lines.pmu.push_back(&pmu[c]);
            lines.cpu_inputs.push_back(&pins[c]);
        }
    }
    std::vector<std::array<IrqLine, 4>> timers;
    std::vector<IrqLine> pmu;
    std::vector<FakePins> pins;
    CoreLines lines;
};

/// Clock, RAM, cores and the devices a DTB describes. Members are declared in the
/// order they must outlive each other: the devices' timers cancel themselves on the
/// clock, and the bus holds pointers to the devices.
struct FuzzBoard {
    FuzzBoard(std::span<const uint8_t> dtb, uint32_t ram, unsigned ncores, uint64_t hz)
        : clock(hz), bus(ram), cores(ncores),
          board(build_board(dtb, bus, clock, ncores, cores.lines)) {}

    VirtualClock clock;
    Bus bus;
    FakeCores cores;
    ErrorOr<BuiltBoard> board;

    /// Back to the state of a freshly built board, for the next input: virtual time 0,
    /// RAM zero (its pages given back: MAP_PRIVATE anonymous memory reads as zero
    /// after MADV_DONTNEED) and every device reset. Whatever the devices' reset()
    /// misses shows as a difference from a fresh board (fuzz_mmio.cpp compares).
    void power_cycle() {
        clock.set_now(0);
        FUZZ_CHECK(::madvise(bus.ram(), bus.ram_size(), MADV_DONTNEED) == 0);
        board.value().reset();
    }

    /// Advances virtual time by `cycles`, firing every timer due on the way as the
    /// run loop does. A timer that keeps re-arming itself at the current instant
    /// would hang the machine: that is an invariant.
    void advance(uint64_t cycles) {
        uint64_t target = clock.now() + cycles;
        unsigned fired = 0;
        for (;;) {
            uint64_t next = clock.next_deadline();
            if (next > target)
                break;
            if (next > clock.now())
                clock.set_now(next);
            fired += clock.run_due();
            FUZZ_CHECK(fired < 1'000'000);
        }
        clock.set_now(target);
    }
};

} // namespace piemu::fuzz
