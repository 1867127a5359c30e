// BCM2836/7 ARM local peripherals ("ARM control", the per-core interrupt controller),
// DT compatible "brcm,bcm2836-l1-intc", at 0x40000000, window 0x100 bytes. It is the
// root controller: it drives the cores' nIRQ and nFIQ inputs.
//
// Modelled after "ARM Quad A7 core" (QA7) rev 3.4, chapter 3 (core timer, 3.1) and
// chapter 4 (control registers, 4.2-4.11: GPU and PMU routing, local timer, per-core
// timer and mailbox interrupt control, IRQ/FIQ source, mailboxes), with QEMU's
// hw/intc/bcm2836_control.c and Linux's drivers/irqchip/irq-bcm2836.c (v4.14) as
// behavioural references. See bcm2836_local_intc.cpp for each modelled choice and its
// evidence.
//
// Inputs (irq_sink()), levels: per core c, c * 16 + {0 CNTPSIRQ, 1 CNTPNSIRQ, 2 CNTHPIRQ,
// 3 CNTVIRQ} from the core's generic timer and c * 16 + 9 from its PMU; 64 the GPU IRQ
// and 65 the GPU FIQ from ARMCTRL (bcm2835_armctrl.hpp).
// Outputs: core_irq(c) and core_fiq(c) for each core.
//
// Time: the 64-bit core timer (the count behind every core's CNTPCT) and the local timer
// are derived from the VirtualClock; the local timer's expiry is a TimerEvent.
//
// Not modelled:
//  - the AXI outstanding counters and interrupt (0x2c, 0x30; source bit 10 reads 0):
//    reads 0, writes ignored, logged as unimplemented;
//  - local interrupts 1-7 and 8-15 routing (0x28) and source bits 12-17 (no such
//    sources on the Pi);
//  - the mailboxes' use as a boot protocol (the firmware's spin loop): they are plain
//    registers here; the machine watches mailbox 3 of parked cores through
//    set_mailbox_observer() and plays the firmware's part (src/machine/smp.cpp);
//  - sub-word accesses: registers are 32 bits wide; byte and halfword accesses are
//    logged as guest errors, read as zero and are ignored when written.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "piemu/clock.hpp"
#include "piemu/device.hpp"
#include "piemu/irqchip.hpp"

namespace piemu {

class Bcm2836LocalIntc final : public Device, public InterruptController {
public:
    /// Register offsets, QA7 4.1 table. All 32 bits; per-core registers repeat at +4.
    enum class Reg : uint32_t {
        Control = 0x00,         ///< RW: core timer from APB [8] (0 crystal), +2 [9]
        Prescaler = 0x08,       ///< RW 32: core timer rate = input * value / 2^31
        GpuRouting = 0x0c,      ///< RW 4: GPU IRQ to core [1:0], GPU FIQ to core [3:2]
        PmuRoutingSet = 0x10,   ///< W1S 8: PMU of core n to its IRQ [n], FIQ [4+n]; reads the mask
        PmuRoutingClear = 0x14, ///< W1C 8: same bits; reads the mask
        CoreTimerLs = 0x1c,     ///< RW: core timer [31:0]; a read latches [63:32], a write is held
        CoreTimerMs = 0x20,     ///< RW: read returns the latched [63:32]; a write commits all 64
        LocalIntRouting = 0x24, ///< RW 3: local timer to core [1:0], as FIQ [2]
        AxiCounters = 0x2c,     ///< not modelled (reads 0)
        AxiIrq = 0x30,          ///< not modelled (reads 0)
        LocalTimerControl = 0x34, ///< RW: reload [27:0], enable [28], int enable [29]; RO flag [31]
        LocalTimerWriteFlags = 0x38, ///< WO: 1 to [31] clears the flag, 1 to [30] reloads
        TimerIntControl0 = 0x40,     ///< RW 8, cores 0-3 at 0x40-0x4c: timer IRQ [3:0], FIQ [7:4]
        MailboxIntControl0 = 0x50,   ///< RW 8, cores 0-3 at 0x50-0x5c: mailbox IRQ [3:0], FIQ [7:4]
        IrqSource0 = 0x60,           ///< RO, cores 0-3 at 0x60-0x6c: Source bits raising the IRQ
        FiqSource0 = 0x70,           ///< RO, cores 0-3 at 0x70-0x7c: Source bits raising the FIQ
        MailboxSet0 = 0x80,          ///< WO, core c mailbox m at 0x80 + 16c + 4m: W1S
        MailboxClear0 = 0xc0,        ///< RW, core c mailbox m at 0xc0 + 16c + 4m: reads it, W1C
    };
    static constexpr uint32_t kMmioSize = 0x100;
    static constexpr unsigned kMaxCores = 4;

    /// Bits of the IRQ/FIQ source registers (QA7 4.10). 0-3 and 8-9 are also Linux's
    /// hwirq numbers (irq-bcm2836.c LOCAL_IRQ_*), i.e. the first cell of a specifier.
    enum Source : unsigned {
        kSrcCntps = 0,
        kSrcCntpns = 1,
        kSrcCnthp = 2,
        kSrcCntv = 3,
        kSrcMailbox0 = 4, ///< mailboxes 0-3: bits 4-7
        kSrcGpu = 8,
        kSrcPmu = 9,
        kSrcAxi = 10, ///< not modelled: always 0
        kSrcLocalTimer = 11,
    };

    /// irq_sink() inputs. Per core c: input(c, kSrcCntps..kSrcCntv) and input(c, kSrcPmu).
    static constexpr unsigned kInputsPerCore = 16;
    static constexpr unsigned kInputGpuIrq = 64;
    static constexpr unsigned kInputGpuFiq = 65;
    static constexpr unsigned input(unsigned core, unsigned source) {
        return core * kInputsPerCore + source;
    }

    /// The crystal ("oscillator") clock, the core timer's input when Control[8] = 0.
    static constexpr uint64_t kCrystalHz = 19'200'000;
    /// The local timer's count rate: twice the crystal (see the .cpp).
    static constexpr uint64_t kLocalTimerHz = 38'400'000;
    /// Prescaler after reset(): 1:1, so the core timer counts at kCrystalHz (see the .cpp).
    static constexpr uint32_t kPrescalerReset = 0x8000'0000;

    /// `cores` (1-4) is how many cores are wired: their output lines and per-CPU inputs.
    /// The register file always has all four cores' registers, as the silicon does.
    Bcm2836LocalIntc(std::string name, VirtualClock& clock, unsigned cores = 4);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// Reset values: control 0 (crystal, +1), prescaler kPrescalerReset, core timer 0,
    /// GPU routing 0 (IRQ and FIQ to core 0), PMU routing 0, local timer routing 0,
    /// local timer control 0 (disabled, flag clear), every timer and mailbox interrupt
    /// control 0, every mailbox 0. Input levels are wires and are kept.
    void reset() override;
    /// NOTE: empty. This is the root controller; its outputs go to the cores, wired by
    /// the board through core_irq()/core_fiq(), not through a DT `interrupts` property.
    std::vector<IrqLine*> irq_outputs() override { return {}; }

    /// Core `core`'s nIRQ input (active high here). core < cores().
    IrqLine& core_irq(unsigned core);
    /// Core `core`'s nFIQ input (active high here). core < cores().
    IrqLine& core_fiq(unsigned core);
    unsigned cores() const { return cores_; }

    /// The 64-bit core timer now: the count every core's generic timer (CNTPCT) reads.
    uint64_t core_timer() const;

    /// Core `core`'s mailbox `mailbox` (0-3), as its read/clear register reads.
    uint32_t mailbox(unsigned core, unsigned mailbox) const {
        return mailbox_.at(core).at(mailbox);
    }
    /// Called after every write to a mailbox set register (the registers are already
    /// updated): who watches the firmware's boot mailbox. Host wiring; one observer.
    void set_mailbox_observer(std::function<void(unsigned core, unsigned mailbox)> fn) {
        mailbox_observer_ = std::move(fn);
    }

    /// `#interrupt-cells` = 2: <hwirq flags>, flags ignored as Linux's
    /// irq_domain_xlate_onecell does.
    unsigned interrupt_cells() const override { return 2; }
    /// hwirq 0-3 and 9 -> input(cpu, hwirq); 8 -> kInputGpuIrq. Mailboxes (4-7), the
    /// local timer (11) and anything else are not wireable from a DT: Error.
    ErrorOr<unsigned> xlate(std::span<const uint32_t> cells, unsigned cpu) const override;
    /// True for the per-core timer (0-3) and PMU (9) inputs.
    bool is_percpu(std::span<const uint32_t> cells) const override;
    IrqSink& irq_sink() override { return inputs_; }
    /// Linux's hwirq: the first cell (the source bit), for the DT-wireable inputs.
    std::optional<unsigned> hwirq(std::span<const uint32_t> cells) const override;
    /// Deliveries, per core: a source bit of its IRQ or FIQ source register rising (a
    /// timer or the PMU high and enabled, a mailbox becoming non-zero while enabled,
    /// the GPU IRQ/FIQ routed to it, the local timer's flag), the source bit as hwirq;
    /// and for the mailboxes also each bit of the mailbox that rises while the
    /// mailbox's interrupt is enabled (Linux's IPIs are mailbox 0's bits), with `bit`.
    void observe_deliveries(DeliveryObserver* observer) override;
    /// The core the GPU IRQ (or FIQ) goes to now: GpuRouting.
    unsigned gpu_core(bool fiq) const { return fiq ? (gpu_routing_ >> 2) & 3 : gpu_routing_ & 3; }

private:
    class Inputs final : public IrqSink {
    public:
        explicit Inputs(Bcm2836LocalIntc& owner) : owner_(owner) {}
        void set_irq_input(unsigned input, bool level) override;

    private:
        Bcm2836LocalIntc& owner_;
    };
    struct Sources {
        uint32_t irq = 0;
        uint32_t fiq = 0;
    };

    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    void write_fixed_reg(uint32_t offset, uint32_t value);
    Sources sources(unsigned core) const;
    void update();
    void report_deliveries(unsigned core, Sources now);

    uint64_t core_timer_at(uint64_t cycle) const;
    void rebase_core_timer(uint64_t value);
    void write_local_timer_control(uint32_t value);
    void write_local_timer_flags(uint32_t value);
    void start_local_timer();
    void local_timer_expired();

    VirtualClock& clock_;
    const unsigned cores_;
    std::array<IrqLine, kMaxCores> irq_{};
    std::array<IrqLine, kMaxCores> fiq_{};
    Inputs inputs_{*this};
    TimerEvent local_timer_;

    // Input levels (wires, not registers).
    std::array<uint8_t, kMaxCores> timer_level_{}; // CNTPS..CNTV in bits 0-3
    uint8_t pmu_level_ = 0;                        // core n's PMU in bit n
    bool gpu_irq_ = false;
    bool gpu_fiq_ = false;

    // Registers.
    uint32_t control_ = 0;
    uint32_t prescaler_ = 0;
    uint32_t gpu_routing_ = 0;
    uint32_t pmu_routing_ = 0;
    uint32_t local_routing_ = 0;
    uint32_t local_timer_control_ = 0;
    std::array<uint32_t, kMaxCores> timer_int_control_{};
    std::array<uint32_t, kMaxCores> mailbox_int_control_{};
    std::array<std::array<uint32_t, 4>, kMaxCores> mailbox_{};
    std::function<void(unsigned, unsigned)> mailbox_observer_;

    // Core timer: value = base_value + ticks since base_cycle at the current rate.
    uint64_t core_timer_base_value_ = 0;
    uint64_t core_timer_base_cycle_ = 0;
    uint32_t core_timer_ms_latch_ = 0; // captured by a CoreTimerLs read
    uint32_t core_timer_ls_hold_ = 0;  // held by a CoreTimerLs write
    // Local timer: the local-timer tick at which the count next reaches zero.
    uint64_t local_timer_deadline_ = 0;

    // What update() last delivered (DeliveryObserver), per core: the source registers
    // and each mailbox's bits while its interrupt is enabled.
    struct Delivered {
        uint32_t irq = 0, fiq = 0;         ///< the source registers
        std::array<uint32_t, 4> mailbox{}; ///< each mailbox's bits while enabled
        uint8_t mailbox_fiq = 0;           ///< bit m: mailbox m goes to FIQ
        bool operator==(const Delivered&) const = default;
    };
    /// What update() delivers to `core` with sources `now`.
    Delivered delivered_state(unsigned core, Sources now) const;
    DeliveryObserver* delivery_observer_ = nullptr;
    std::array<Delivered, kMaxCores> delivered_{};
};

} // namespace piemu
