// Fuzz targets: one device model (piemu_fuzz_compatible, its DT compatible) driven
// by random MMIO sequences through the Bus, on the raspi3b board the builder makes
// from its own DTB (every other device there too: the model's lines reach the
// interrupt controllers and the cores' pins, bus masters reach RAM). Besides MMIO the
// sequence advances virtual time, writes RAM (DMA control blocks, mailbox buffers),
// feeds the device's external inputs (UART receive and CTS, doorbells, an interrupt
// controller's input lines) and resets it. Checked:
//  - no crash, sanitizer report, or unbounded event storm (FuzzBoard::advance);
//  - every interrupt output reports changes only, and its level is what was reported;
//  - lines consistent with registers wherever side-effect-free registers say what the
//    line must be (check_lines(): every model with an interrupt output but the VCHIQ
//    doorbell, whose status is read-to-clear);
//  - determinism: the same sequence run twice reads the same values, drives the same
//    levels and leaves the same timers armed.
// The board is built once per process and power-cycled (FuzzBoard::power_cycle:
// time 0, RAM zero, every device's reset()) before each run, as `--reboot` resets
// it; each input runs twice on it. Every 1000th input (every input when replaying a
// corpus) runs a third time on a freshly built board: a device whose reset() misses
// state a guest can see makes that run differ.
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "board/builtin_dtbs.hpp"
#include "devices/bcm2835_armctrl.hpp"
#include "devices/bcm2835_aux.hpp"
#include "devices/bcm2835_dma.hpp"
#include "devices/bcm2835_mbox.hpp"
#include "devices/bcm2835_sdhci.hpp"
#include "devices/bcm2835_sdhost.hpp"
#include "devices/bcm2835_systimer.hpp"
#include "devices/bcm2835_usb.hpp"
#include "devices/bcm2835_vchiq.hpp"
#include "devices/bcm2836_local_intc.hpp"
#include "devices/pl011.hpp"
#include "devices/sd_card.hpp"
#include "fuzz_board.hpp"
#include "fuzz_input.hpp"

using namespace piemu;

/// The DT compatible of the device this target fuzzes (a generated file per target).
extern const char* const piemu_fuzz_compatible;

namespace {

constexpr uint32_t kRam = 16u << 20;
constexpr unsigned kMaxOps = 2048;

/// Tracks one output line's reported level.
struct LineWatch : IrqLineObserver {
    std::vector<uint8_t> levels;
    void irq_line_changed(uint32_t tag, bool level) override {
        FUZZ_CHECK(tag < levels.size());
        FUZZ_CHECK(levels[tag] != level);
        levels[tag] = level;
    }
};

/// The fuzzed device as the models the sequence treats specially (null: not that model),
/// resolved once: a dynamic_cast per operation cost more than the operation.
struct Models {
    explicit Models(Device* dev)
        : uart(dynamic_cast<Pl011*>(dev)), systimer(dynamic_cast<Bcm2835Systimer*>(dev)),
          aux(dynamic_cast<Bcm2835Aux*>(dev)), vchiq(dynamic_cast<Bcm2835Vchiq*>(dev)),
          sdhost(dynamic_cast<Bcm2835Sdhost*>(dev)), sdhci(dynamic_cast<Bcm2835Sdhci*>(dev)),
          armctrl(dynamic_cast<Bcm2835Armctrl*>(dev)),
          local_intc(dynamic_cast<Bcm2836LocalIntc*>(dev)), dma(dynamic_cast<Bcm2835Dma*>(dev)),
          mbox(dynamic_cast<Bcm2835Mbox*>(dev)), usb(dynamic_cast<Bcm2835Usb*>(dev)) {}
    Pl011* uart;
    Bcm2835Systimer* systimer;
    Bcm2835Aux* aux;
    Bcm2835Vchiq* vchiq;
    Bcm2835Sdhost* sdhost;
    Bcm2835Sdhci* sdhci;
    Bcm2835Armctrl* armctrl;
    Bcm2836LocalIntc* local_intc;
    Bcm2835Dma* dma;
    Bcm2835Mbox* mbox;
    Bcm2835Usb* usb;

    /// The card slot of an SD host (nullptr: the card is removed).
    void attach(SdCard* card) const {
        if (sdhost)
            sdhost->attach(card);
        if (sdhci)
            sdhci->attach(card);
    }
};

/// Registers that say what a line must be, read without side effects: a model that
/// changes state without recomputing its outputs fails here. `pins` are the core's IRQ
/// and FIQ inputs, which the local controller drives.
void check_lines(const Models& m, const std::vector<IrqLine*>& lines,
                 const std::array<bool, 2>& pins) {
    auto reg = [](Device* d, auto r) { return d->read(uint32_t(r), 4); };
    if (m.uart) {
        FUZZ_CHECK(m.uart->irq().level() == (reg(m.uart, Pl011::Reg::Mis) != 0));
    } else if (m.systimer) {
        uint32_t cs = reg(m.systimer, Bcm2835Systimer::Reg::Cs);
        for (unsigned i = 0; i < lines.size() && i < 4; ++i)
            FUZZ_CHECK(lines[i]->level() == bool(cs & (1u << i)));
    } else if (m.armctrl) {
        // IRQ: something pending and enabled, ARM sources or either GPU bank. FIQ: off
        // when disabled; a selected GPU source that is also IRQ-enabled shows its level
        // in the pending registers.
        using R = Bcm2835Armctrl::Reg;
        uint64_t gpu = reg(m.armctrl, R::Pending1) | uint64_t(reg(m.armctrl, R::Pending2)) << 32;
        uint64_t enabled = reg(m.armctrl, R::Enable1) | uint64_t(reg(m.armctrl, R::Enable2)) << 32;
        FUZZ_CHECK(m.armctrl->irq_out().level() ==
                   ((reg(m.armctrl, R::BasicPending) & 0xff) != 0 || gpu != 0));
        uint32_t fiq = reg(m.armctrl, R::FiqControl);
        bool fiq_line = m.armctrl->fiq_out().level();
        if (!(fiq & 0x80))
            FUZZ_CHECK(!fiq_line);
        else if ((fiq & 0x7f) < 64 && (enabled >> (fiq & 0x7f)) & 1)
            FUZZ_CHECK(fiq_line == bool((gpu >> (fiq & 0x7f)) & 1));
    } else if (m.local_intc) {
        // Core 0's IRQ and FIQ source registers: a bit per source raising each.
        using R = Bcm2836LocalIntc::Reg;
        FUZZ_CHECK(pins[0] == (reg(m.local_intc, R::IrqSource0) != 0));
        FUZZ_CHECK(pins[1] == (reg(m.local_intc, R::FiqSource0) != 0));
    } else if (m.dma) {
        // INT_STATUS: channel n's CS.INT in bit n. Channels 0-10 have a line each,
        // 11-14 share one GPU IRQ (outputs 11-14), output 15 is all of them.
        uint32_t is = reg(m.dma, Bcm2835Dma::kIntStatus);
        for (unsigned n = 0; n < lines.size(); ++n) {
            uint32_t mask = n < Bcm2835Dma::kFirstSharedChannel ? 1u << n
                            : n < Bcm2835Dma::kChannels         ? 0x7800u
                                                                : 0x7fffu;
            FUZZ_CHECK(lines[n]->level() == ((is & mask) != 0));
        }
    } else if (m.mbox) {
        // Data for the ARM (STATUS not EMPTY) with the data IRQ enabled (CONFIG [0]).
        using R = Bcm2835Mbox::Reg;
        FUZZ_CHECK(lines[0]->level() == ((reg(m.mbox, R::Config) & 1) &&
                                         !(reg(m.mbox, R::Status) & Bcm2835Mbox::kStatusEmpty)));
    } else if (m.aux) {
        FUZZ_CHECK(lines[0]->level() == bool(reg(m.aux, Bcm2835Aux::Reg::Irq) & 1));
    } else if (m.sdhost) {
        // Each SDHCFG interrupt enable and the SDHSTS bit it lets through (Linux
        // drivers/mmc/host/bcm2835.c): DATA_IRPT_EN [4] -> DATA_FLAG [0], SDIO_IRPT_EN
        // [5] -> SDIO_IRPT [8], BLOCK_IRPT_EN [8] -> BLOCK_IRPT [9], BUSY_IRPT_EN [10]
        // -> BUSY_IRPT [10].
        static constexpr std::pair<uint32_t, uint32_t> kEnables[] = {
            {1u << 4, 0x001}, {1u << 5, 0x100}, {1u << 8, 0x200}, {1u << 10, 0x400}};
        uint32_t hcfg = reg(m.sdhost, Bcm2835Sdhost::Reg::Hcfg);
        uint32_t hsts = reg(m.sdhost, Bcm2835Sdhost::Reg::Hsts);
        bool expected = false;
        for (auto [enable, status] : kEnables)
            expected |= (hcfg & enable) && (hsts & status);
        FUZZ_CHECK(lines[0]->level() == expected);
    } else if (m.sdhci) {
        // A normal or error status bit with its signal enable; the normal status's
        // bit 15 is the summary of the error bits, not a source of its own (SD Host
        // Controller Simplified Specification, Normal Interrupt Signal Enable).
        using R = Bcm2835Sdhci::Reg;
        uint32_t status = reg(m.sdhci, R::Interrupt) & ~0x8000u;
        FUZZ_CHECK(lines[0]->level() == ((status & reg(m.sdhci, R::IrptEn)) != 0));
    } else if (m.usb) {
        // GINTSTS & GINTMSK, with GAHBCFG's global interrupt mask open.
        using R = Bcm2835Usb::Reg;
        bool expected = (reg(m.usb, R::Gahbcfg) & Bcm2835Usb::kGahbGlblIntrMsk) &&
                        (reg(m.usb, R::Gintsts) & reg(m.usb, R::Gintmsk));
        FUZZ_CHECK(lines[0]->level() == expected);
    }
}

/// The board and the fuzzed model's place on it, built once.
struct Target {
    Target() : b(builtin_dtb("raspi3b"), kRam, 1, 1'200'000'000) {
        FUZZ_CHECK(!b.board.is_error());
        // The model and every bus window it serves (the USB core's MPHI too).
        BuiltDevice* target = nullptr;
        for (auto& d : b.board.value().devices)
            if (d.compatible == piemu_fuzz_compatible)
                target = &d;
        FUZZ_CHECK(target != nullptr);
        dev = target->instance.device.get();
        models = Models(dev);
        for (const auto& m : b.bus.devices()) {
            bool ours = m.device == dev;
            for (auto& w : target->instance.windows)
                ours = ours || m.device == w.device.get();
            if (ours)
                windows.push_back(m);
        }
        FUZZ_CHECK(!windows.empty());
        lines = dev->irq_outputs();
        watch.levels.resize(lines.size());
        for (unsigned i = 0; i < lines.size(); ++i) {
            watch.levels[i] = lines[i]->level();
            lines[i]->observe(&watch, i);
        }
        // The interrupt controllers' inputs, for the sequence to raise and lower: the
        // ARMCTRL's that no device on the board drives (each on a line of our own), the
        // local controller's per-core timer and PMU inputs (the fake core's lines).
        if (models.armctrl) {
            std::vector<bool> used(Bcm2835Armctrl::kNumInputs);
            for (const auto& d : b.board.value().devices) {
                auto mark = [&](const std::vector<DtInterrupt>& irqs) {
                    for (const auto& irq : irqs)
                        if (irq.controller == target->path)
                            if (auto in = models.armctrl->xlate(irq.cells, 0); !in.is_error())
                                used.at(in.value()) = true;
                };
                mark(d.interrupts);
                for (const auto& part : d.parts)
                    mark(part.interrupts);
            }
            for (unsigned in = 0; in < used.size(); ++in)
                if (!used[in])
                    own_inputs.emplace_back().connect(&models.armctrl->irq_sink(), in);
            FUZZ_CHECK(!own_inputs.empty());
            for (auto& l : own_inputs)
                inputs.push_back(&l);
        } else if (models.local_intc) {
            for (auto& l : b.cores.timers[0])
                inputs.push_back(&l);
            inputs.push_back(&b.cores.pmu[0]);
        }
        fresh_deadline = b.clock.next_deadline();
    }
    ~Target() {
        for (auto* l : lines)
            l->observe(nullptr, 0);
    }
    Target(const Target&) = delete;
    Target& operator=(const Target&) = delete;

    /// The outside world as it is at power-on, then the board power-cycled.
    void power_cycle() {
        if (models.uart)
            models.uart->set_cts(true);
        for (auto* l : inputs)
            l->set(false);
        b.power_cycle();
        // Reset leaves what a fresh board has: lines as reported, the same timers due.
        for (unsigned i = 0; i < lines.size(); ++i)
            FUZZ_CHECK(watch.levels[i] == lines[i]->level());
        FUZZ_CHECK(b.clock.next_deadline() == fresh_deadline);
    }

    fuzz::FuzzBoard b;
    Device* dev = nullptr;
    Models models{nullptr};
    std::vector<Bus::Mapping> windows;
    std::vector<IrqLine*> lines;
    LineWatch watch;
    uint64_t fresh_deadline = 0;
    std::deque<IrqLine> own_inputs; ///< stable addresses: the controller's inputs hold them
    std::vector<IrqLine*> inputs;   ///< what the sequence drives ("the outside world")
};

/// Runs the input on `t` (fresh or power-cycled) and returns the digest of what the
/// guest could observe.
uint64_t run(Target& t, const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    uint8_t flags = in.u8();
    fuzz::FuzzBoard& b = t.b;
    Device& dev = *t.dev;
    const Models& m = t.models;
    const std::vector<Bus::Mapping>& windows = t.windows;
    const std::vector<IrqLine*>& lines = t.lines;
    LineWatch& watch = t.watch;

    std::unique_ptr<SdCard> card;
    if (flags & 1) {
        card = SdCard::in_memory(std::vector<uint8_t>(64 * 1024, 0xa5), flags & 2);
        m.attach(card.get());
    }

    fuzz::Digest digest; // what the guest could observe
    for (unsigned n = 0; n < kMaxOps && !in.empty(); ++n) {
        uint8_t op = in.u8();
        const Bus::Mapping& w = windows[(op >> 6) % windows.size()];
        unsigned size = 1u << std::min((op >> 3) & 3, 2);
        switch (op & 7) {
        case 0:
        case 1: // a write, of a whole word or a small value
            b.bus.mmio_write(w.base + in.u16() % w.size, op & 1 ? in.u8() : in.u32(), size);
            break;
        case 2:
        case 3:
            digest.add(b.bus.mmio_read(w.base + in.u16() % w.size, size));
            break;
        case 4: // time passes: up to 2^23 cycles (7 ms), enough for every device's
                // timing, short enough that periodic timers (USB SOFs) stay cheap
            b.advance(uint64_t(in.u16()) << ((op >> 3) & 7));
            break;
        case 5: { // RAM the device may read as a bus master (words in the first 1 MiB)
            uint32_t addr = (in.u16() & 0xffff) * 16;
            uint32_t value = in.u32();
            b.bus.write_phys(addr, {reinterpret_cast<const uint8_t*>(&value), 4});
            break;
        }
        case 6: { // the outside world
            uint8_t byte = in.u8();
            if (m.uart) {
                if (op & 8)
                    m.uart->set_cts(op & 16);
                else if (op & 16)
                    m.uart->push_break();
                else
                    m.uart->push_rx(byte);
            } else if (m.aux) {
                m.aux->push_rx(byte);
            } else if (m.vchiq) {
                if (op & 8)
                    m.vchiq->ring_arm_doorbell();
                else
                    digest.add(m.vchiq->take_vc_doorbell());
            } else if (!t.inputs.empty()) {
                t.inputs[byte % t.inputs.size()]->set(op & 8);
            }
            break;
        }
        case 7:
            if ((op >> 3) == 0x1f)
                dev.reset();
            break;
        }
        uint64_t levels = 0; // every line's level, folded into one word
        for (unsigned i = 0; i < lines.size(); ++i) {
            FUZZ_CHECK(watch.levels[i] == lines[i]->level());
            levels ^= uint64_t(lines[i]->level()) << (i % 64);
        }
        digest.add(levels);
        check_lines(m, lines, b.cores.pins[0].level);
        // Timers a stale state would leave armed (or fail to arm) change this.
        digest.add(b.clock.next_deadline());
    }
    digest.add(b.cores.pins[0].level[0] | b.cores.pins[0].level[1] << 1);
    digest.add(b.clock.now());
    if (card) // the card goes; the host forgets it (a removal, as a guest would see)
        m.attach(nullptr);
    return digest.h;
}

} // namespace

/// Defined (true) by replay_main.cpp: replaying a corpus compares every input with a
/// fresh board.
extern "C" __attribute__((weak)) const bool piemu_fuzz_replaying;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Target reused;
    static uint64_t inputs = 0;
    reused.power_cycle();
    uint64_t first = run(reused, data, size);
    reused.power_cycle();
    FUZZ_CHECK(run(reused, data, size) == first);
    if ((&piemu_fuzz_replaying && piemu_fuzz_replaying) || inputs++ % 1000 == 0) {
        Target fresh;
        FUZZ_CHECK(run(fresh, data, size) == first);
    }
    return 0;
}
