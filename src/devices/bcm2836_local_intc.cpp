// BCM2836/7 ARM local interrupt controller. See bcm2836_local_intc.hpp for the sources
// and what is not modelled.
//
// Modelling choices, with their evidence:
//
//  - Routing (QA7 4.4-4.10, QEMU bcm2836_control_update()): each core's IRQ line is
//    the OR of its IRQ source bits and its FIQ line the OR of its FIQ source bits. A
//    timer or mailbox source whose FIQ bit is set goes to FIQ only, whatever its IRQ
//    bit (QA7 4.6/4.7; Linux irq-bcm2836.c: "FIQ enables (which override the IRQ
//    bits)"). The PMU routing bits get the same FIQ-over-IRQ rule. The GPU IRQ goes to
//    the core in GpuRouting[1:0] and the GPU FIQ to the core in GpuRouting[3:2]. The
//    local timer interrupt (flag AND interrupt enable, as QEMU) goes to the core in
//    LocalIntRouting[1:0], as FIQ if [2]. The source registers are computed from the
//    same state, so they always agree with the lines.
//  - A mailbox is pending while its value is non-zero (Linux irq-bcm2836.c: "The
//    mailbox's interrupt is raised while any bit is set"). Set registers are write-only
//    (reads 0, logged); clear registers read the value (the armstub's secondary-core
//    spin loop reads them).
//  - PMU routing: Linux's mask/unmask write `1 << cpu` to the set/clear registers, so
//    bit n routes core n's PMU to core n. QA7 names no read behaviour; both registers
//    read the routing mask, like ARMCTRL's enable/disable pairs.
//  - Core timer (QA7 3.1): input is the 19.2 MHz crystal (Control[8] = 0) or the APB
//    clock, which QA7 puts at half the ARM clock (virtual CPU hz / 2); it advances by
//    1, or by 2 when Control[9] is set, at input * prescaler / 2^31 per second. QA7
//    writes the rate as "(2^31/prescaler) * input frequency, (prescaler <= 2^31)", but
//    the two readings agree only at 2^31, and the constraint only makes sense for the
//    form used here: 9front's bcm clock.c programs prescaler = (1 MHz << 31) / 19.2 MHz
//    to get a 1 MHz timer on real boards. A prescaler above 2^31 is logged.
//    Reading: a read of the LS word captures the MS word, which a later MS read
//    returns; writing: the LS word is held and the MS write sets all 64 bits at once
//    (QA7 3.1.2). Changing control or prescaler keeps the count and changes the rate.
//  - Prescaler reset value: piemu runs no firmware, so reset() leaves 0x80000000 (1:1),
//    the value Linux's bcm2835_init_local_timer_frequency() and 9front program and the
//    only one in which the 19.2 MHz CNTFRQ the firmware reports is true; the silicon's
//    power-on value is not something we could confirm.
//  - Local timer (QA7 4.11, QEMU): a 28-bit down counter at 38.4 MHz, twice the
//    crystal (QEMU's LOCALTIMER_FREQ, added by Zoltan Baldaszti, who wrote his Pi 3
//    bare-metal tutorials against real boards). Enabled, it counts `reload` ticks, then
//    sets the flag (whether or not its interrupt is enabled) and starts again from the
//    reload value; reload periods are chained in ticks, so expiries never drift. As in
//    QEMU, every write to the control register with the enable bit set restarts the
//    count, and WriteFlags[30] restarts it only while enabled. The flag is read-only
//    in the control register and cleared by WriteFlags[31]. A reload value of 0 keeps
//    the timer idle (logged), where QEMU would assert.
//  - Access width: 32-bit aligned accesses only (QEMU: .valid.min_access_size = 4);
//    anything else is a guest error, reads 0, writes ignored.
#include "devices/bcm2836_local_intc.hpp"

#include <cassert>
#include <string>

namespace piemu {

namespace {

using Reg = Bcm2836LocalIntc::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

constexpr uint32_t bit(unsigned n) {
    return 1u << n;
}

// Control (QA7 4.2).
constexpr uint32_t kControlApb = bit(8);
constexpr uint32_t kControlIncrement2 = bit(9);
constexpr uint32_t kControlMask = kControlApb | kControlIncrement2;
constexpr uint64_t kPrescalerUnit = uint64_t{1} << 31;
// Routing registers.
constexpr uint32_t kGpuRoutingMask = 0xf;
constexpr uint32_t kPmuRoutingMask = 0xff;
constexpr uint32_t kLocalRoutingMask = 0x7;
constexpr uint32_t kLocalRoutingFiq = bit(2);
// Local timer control/status and write flags (QA7 4.11).
constexpr uint32_t kLtReloadMask = 0x0fff'ffff;
constexpr uint32_t kLtEnable = bit(28);
constexpr uint32_t kLtIntEnable = bit(29);
constexpr uint32_t kLtFlag = bit(31);
constexpr uint32_t kLtWritable = kLtReloadMask | kLtEnable | kLtIntEnable;
constexpr uint32_t kLtClearFlag = bit(31);
constexpr uint32_t kLtReload = bit(30);
// Timer and mailbox interrupt control: IRQ enables [3:0], FIQ enables [7:4].
constexpr uint32_t kIntControlMask = 0xff;
constexpr unsigned kFiqShift = 4;

// Adds `source` to the FIQ or the IRQ source bits per bit `index` of an interrupt
// control field (IRQ enables [3:0], FIQ enables [7:4]): FIQ wins.
void deliver(uint32_t& irq, uint32_t& fiq, uint32_t control, unsigned index, unsigned source) {
    if (control & bit(index + kFiqShift))
        fiq |= bit(source);
    else if (control & bit(index))
        irq |= bit(source);
}

} // namespace

Bcm2836LocalIntc::Bcm2836LocalIntc(std::string name, VirtualClock& clock, unsigned cores)
    : Device(std::move(name)), clock_(clock), cores_(cores),
      local_timer_(clock, this->name() + ".local-timer", [this] { local_timer_expired(); }) {
    assert(cores_ >= 1 && cores_ <= kMaxCores);
    Bcm2836LocalIntc::reset();
}

void Bcm2836LocalIntc::reset() {
    local_timer_.cancel();
    control_ = 0;
    prescaler_ = kPrescalerReset;
    gpu_routing_ = 0;
    pmu_routing_ = 0;
    local_routing_ = 0;
    local_timer_control_ = 0;
    timer_int_control_.fill(0);
    mailbox_int_control_.fill(0);
    for (auto& core : mailbox_)
        core.fill(0);
    core_timer_base_value_ = 0;
    core_timer_base_cycle_ = clock_.now();
    core_timer_ms_latch_ = 0;
    core_timer_ls_hold_ = 0;
    local_timer_deadline_ = 0;
    update();
}

IrqLine& Bcm2836LocalIntc::core_irq(unsigned core) {
    assert(core < cores_);
    return irq_[core];
}

IrqLine& Bcm2836LocalIntc::core_fiq(unsigned core) {
    assert(core < cores_);
    return fiq_[core];
}

void Bcm2836LocalIntc::Inputs::set_irq_input(unsigned input, bool level) {
    Bcm2836LocalIntc& s = owner_;
    if (input == kInputGpuIrq) {
        s.gpu_irq_ = level;
    } else if (input == kInputGpuFiq) {
        s.gpu_fiq_ = level;
    } else {
        unsigned core = input / kInputsPerCore;
        unsigned line = input % kInputsPerCore;
        assert(core < s.cores_ && (line <= kSrcCntv || line == kSrcPmu) &&
               "local intc input out of range: board wiring bug");
        if (line == kSrcPmu) {
            s.pmu_level_ =
                static_cast<uint8_t>(level ? s.pmu_level_ | bit(core) : s.pmu_level_ & ~bit(core));
        } else {
            uint8_t& l = s.timer_level_[core];
            l = static_cast<uint8_t>(level ? l | bit(line) : l & ~bit(line));
        }
    }
    s.update();
}

// ---- MMIO ----

uint32_t Bcm2836LocalIntc::read(uint32_t offset, unsigned size) {
    if (size != 4 || offset % 4 != 0 || offset >= kMmioSize) {
        log_guest_error(*this, offset, "read not 32-bit aligned: reads as 0");
        return 0;
    }
    return read_reg(offset);
}

void Bcm2836LocalIntc::write(uint32_t offset, uint32_t value, unsigned size) {
    if (size != 4 || offset % 4 != 0 || offset >= kMmioSize) {
        log_guest_error(*this, offset, "write not 32-bit aligned: ignored");
        return;
    }
    write_reg(offset, value);
}

// Per-core registers come in banks of four words (0x40-0x7f): the word index is the
// core. Mailboxes come in 16-byte groups per core (0x80-0xff): the word index within
// the group is the mailbox.
uint32_t Bcm2836LocalIntc::read_reg(uint32_t offset) {
    unsigned index = (offset >> 2) & 3;
    if (offset >= off(Reg::MailboxClear0))
        return mailbox_[(offset - off(Reg::MailboxClear0)) >> 4][index];
    if (offset >= off(Reg::MailboxSet0)) {
        log_guest_error(*this, offset, "read of write-only mailbox set register");
        return 0;
    }
    if (offset >= off(Reg::FiqSource0))
        return sources(index).fiq;
    if (offset >= off(Reg::IrqSource0))
        return sources(index).irq;
    if (offset >= off(Reg::MailboxIntControl0))
        return mailbox_int_control_[index];
    if (offset >= off(Reg::TimerIntControl0))
        return timer_int_control_[index];
    switch (static_cast<Reg>(offset)) {
    case Reg::Control:
        return control_;
    case Reg::Prescaler:
        return prescaler_;
    case Reg::GpuRouting:
        return gpu_routing_;
    case Reg::PmuRoutingSet:
    case Reg::PmuRoutingClear:
        return pmu_routing_;
    case Reg::CoreTimerLs: {
        uint64_t now = core_timer();
        core_timer_ms_latch_ = static_cast<uint32_t>(now >> 32);
        return static_cast<uint32_t>(now);
    }
    case Reg::CoreTimerMs:
        return core_timer_ms_latch_;
    case Reg::LocalIntRouting:
        return local_routing_;
    case Reg::LocalTimerControl:
        return local_timer_control_;
    case Reg::LocalTimerWriteFlags:
        log_guest_error(*this, offset, "read of write-only local timer write flags");
        return 0;
    case Reg::AxiCounters:
    case Reg::AxiIrq:
        log_unimplemented(*this, offset, "AXI outstanding counters");
        return 0;
    default:
        log_guest_error(*this, offset, "read of unknown register");
        return 0;
    }
}

void Bcm2836LocalIntc::write_reg(uint32_t offset, uint32_t value) {
    unsigned index = (offset >> 2) & 3; // as in read_reg()
    if (offset >= off(Reg::MailboxClear0)) {
        mailbox_[(offset - off(Reg::MailboxClear0)) >> 4][index] &= ~value;
    } else if (offset >= off(Reg::MailboxSet0)) {
        unsigned core = (offset - off(Reg::MailboxSet0)) >> 4;
        mailbox_[core][index] |= value;
        update();
        if (mailbox_observer_)
            mailbox_observer_(core, index);
        return;
    } else if (offset >= off(Reg::IrqSource0)) {
        log_guest_error(*this, offset, "write to read-only interrupt source register");
        return;
    } else if (offset >= off(Reg::MailboxIntControl0)) {
        mailbox_int_control_[index] = value & kIntControlMask;
    } else if (offset >= off(Reg::TimerIntControl0)) {
        timer_int_control_[index] = value & kIntControlMask;
    } else {
        write_fixed_reg(offset, value);
    }
    update();
}

// The registers below 0x40. Unknown and unmodelled offsets log and leave state alone;
// the update() that follows then changes nothing.
void Bcm2836LocalIntc::write_fixed_reg(uint32_t offset, uint32_t value) {
    switch (static_cast<Reg>(offset)) {
    case Reg::Control:
        rebase_core_timer(core_timer());
        control_ = value & kControlMask;
        break;
    case Reg::Prescaler:
        rebase_core_timer(core_timer());
        prescaler_ = value;
        if (value > kPrescalerUnit)
            log_guest_error(*this, offset, "prescaler above 2^31 (QA7: must be <= 2^31)");
        break;
    case Reg::GpuRouting:
        gpu_routing_ = value & kGpuRoutingMask;
        if ((gpu_routing_ & 3) >= cores_ || ((gpu_routing_ >> 2) & 3) >= cores_)
            log_guest_error(*this, offset, "GPU interrupt routed to a core that is not wired");
        break;
    case Reg::PmuRoutingSet:
        pmu_routing_ |= value & kPmuRoutingMask;
        break;
    case Reg::PmuRoutingClear:
        pmu_routing_ &= ~value;
        break;
    case Reg::CoreTimerLs:
        core_timer_ls_hold_ = value;
        break;
    case Reg::CoreTimerMs:
        rebase_core_timer((uint64_t{value} << 32) | core_timer_ls_hold_);
        break;
    case Reg::LocalIntRouting:
        local_routing_ = value & kLocalRoutingMask;
        break;
    case Reg::LocalTimerControl:
        write_local_timer_control(value);
        break;
    case Reg::LocalTimerWriteFlags:
        write_local_timer_flags(value);
        break;
    case Reg::AxiCounters:
    case Reg::AxiIrq:
        log_unimplemented(*this, offset, "AXI outstanding counters");
        break;
    default:
        log_guest_error(*this, offset, "write to unknown register");
        break;
    }
}

// ---- interrupt routing ----

Bcm2836LocalIntc::Sources Bcm2836LocalIntc::sources(unsigned core) const {
    Sources s;
    for (unsigned t = kSrcCntps; t <= kSrcCntv; ++t) {
        if (timer_level_[core] & bit(t))
            deliver(s.irq, s.fiq, timer_int_control_[core], t, t);
    }
    for (unsigned m = 0; m < 4; ++m) {
        if (mailbox_[core][m] != 0)
            deliver(s.irq, s.fiq, mailbox_int_control_[core], m, kSrcMailbox0 + m);
    }
    if (gpu_irq_ && (gpu_routing_ & 3) == core)
        s.irq |= bit(kSrcGpu);
    if (gpu_fiq_ && ((gpu_routing_ >> 2) & 3) == core)
        s.fiq |= bit(kSrcGpu);
    if (pmu_level_ & bit(core))
        deliver(s.irq, s.fiq, pmu_routing_, core, kSrcPmu);
    bool local_timer = (local_timer_control_ & kLtIntEnable) && (local_timer_control_ & kLtFlag);
    if (local_timer && (local_routing_ & 3) == core) {
        if (local_routing_ & kLocalRoutingFiq)
            s.fiq |= bit(kSrcLocalTimer);
        else
            s.irq |= bit(kSrcLocalTimer);
    }
    return s;
}

// Recomputes every core's IRQ and FIQ line from state. Ends every register write,
// input change and local timer expiry.
void Bcm2836LocalIntc::update() {
    for (unsigned c = 0; c < cores_; ++c) {
        Sources s = sources(c);
        report_deliveries(c, s);
        irq_[c].set(s.irq != 0);
        fiq_[c].set(s.fiq != 0);
    }
}

Bcm2836LocalIntc::Delivered Bcm2836LocalIntc::delivered_state(unsigned core, Sources now) const {
    Delivered d;
    d.irq = now.irq;
    d.fiq = now.fiq;
    for (unsigned m = 0; m < 4; ++m) {
        if (mailbox_int_control_[core] & (bit(m) | bit(m + kFiqShift)))
            d.mailbox[m] = mailbox_[core][m];
        if (mailbox_int_control_[core] & bit(m + kFiqShift))
            d.mailbox_fiq |= uint8_t(bit(m));
    }
    return d;
}

// Tells the delivery observer of the source bits of core `core` that rose since the
// last update(), and of the mailbox bits that rose while their mailbox is enabled.
void Bcm2836LocalIntc::report_deliveries(unsigned core, Sources now) {
    // Nobody counts (the kernel model counts in genirq): observe_deliveries() takes
    // the state as it is when someone starts to.
    if (!delivery_observer_)
        return;
    const Delivered d = delivered_state(core, now);
    const Delivered& was = delivered_[core];
    if (d == was)
        return; // most updates change nothing at this core
    auto report = [&](uint32_t changed, uint32_t level, unsigned hwirq, bool bits, bool fiq) {
        for (; changed; changed &= changed - 1) {
            unsigned b = unsigned(__builtin_ctz(changed));
            delivery_observer_->pending_changed(*this, bits ? hwirq : b, bits ? int(b) : -1,
                                                int(core), fiq, (level >> b) & 1);
        }
    };
    report(d.irq ^ was.irq, d.irq, 0, false, false);
    report(d.fiq ^ was.fiq, d.fiq, 0, false, true);
    for (unsigned m = 0; m < 4; ++m) {
        uint32_t was_m = was.mailbox[m];
        bool was_fiq = was.mailbox_fiq & bit(m);
        bool fiq = d.mailbox_fiq & bit(m);
        if (was_fiq != fiq) { // every bit moves from one pin to the other
            report(was_m, 0, kSrcMailbox0 + m, true, was_fiq);
            was_m = 0;
        }
        report(d.mailbox[m] ^ was_m, d.mailbox[m], kSrcMailbox0 + m, true, fiq);
    }
    delivered_[core] = d;
}

void Bcm2836LocalIntc::observe_deliveries(DeliveryObserver* observer) {
    // What is pending now is where counting starts: nothing of it is reported.
    for (unsigned c = 0; c < cores_; ++c)
        delivered_[c] = delivered_state(c, sources(c));
    delivery_observer_ = observer;
}

// ---- core timer ----

uint64_t Bcm2836LocalIntc::core_timer() const {
    return core_timer_at(clock_.now());
}

// base + floor(elapsed * input_hz * increment * prescaler / (cpu_hz * 2^31)). With the
// APB input (cpu_hz / 2) cpu_hz cancels. Products stay below 2^122 for any 64-bit
// elapsed cycle count, so 128-bit arithmetic is exact.
uint64_t Bcm2836LocalIntc::core_timer_at(uint64_t cycle) const {
    using u128 = unsigned __int128;
    uint64_t elapsed = cycle > core_timer_base_cycle_ ? cycle - core_timer_base_cycle_ : 0;
    u128 scaled = u128{elapsed} * prescaler_ * ((control_ & kControlIncrement2) ? 2 : 1);
    u128 ticks = (control_ & kControlApb)
                     ? scaled / (2 * u128{kPrescalerUnit})
                     : scaled * kCrystalHz / (u128{clock_.hz()} * kPrescalerUnit);
    return core_timer_base_value_ + static_cast<uint64_t>(ticks);
}

void Bcm2836LocalIntc::rebase_core_timer(uint64_t value) {
    core_timer_base_value_ = value;
    core_timer_base_cycle_ = clock_.now();
}

// ---- local timer ----

void Bcm2836LocalIntc::write_local_timer_control(uint32_t value) {
    local_timer_control_ = (value & kLtWritable) | (local_timer_control_ & kLtFlag);
    start_local_timer();
}

void Bcm2836LocalIntc::write_local_timer_flags(uint32_t value) {
    if (value & kLtClearFlag)
        local_timer_control_ &= ~kLtFlag;
    if ((value & kLtReload) && (local_timer_control_ & kLtEnable))
        start_local_timer();
}

// (Re)starts the count from the reload value, or stops it when disabled.
void Bcm2836LocalIntc::start_local_timer() {
    uint32_t reload = local_timer_control_ & kLtReloadMask;
    if (!(local_timer_control_ & kLtEnable)) {
        local_timer_.cancel();
        return;
    }
    if (reload == 0) {
        log_guest_error(*this, off(Reg::LocalTimerControl),
                        "local timer enabled with reload value 0: not counting");
        local_timer_.cancel();
        return;
    }
    local_timer_deadline_ = clock_.ticks_at(kLocalTimerHz) + reload;
    local_timer_.arm_at(clock_.ticks_to_cycles(local_timer_deadline_, kLocalTimerHz));
}

// The count reached zero: flag, reload, and count the next period from this deadline.
void Bcm2836LocalIntc::local_timer_expired() {
    local_timer_control_ |= kLtFlag;
    local_timer_deadline_ += local_timer_control_ & kLtReloadMask;
    local_timer_.arm_at(clock_.ticks_to_cycles(local_timer_deadline_, kLocalTimerHz));
    update();
}

// ---- device tree ----

ErrorOr<unsigned> Bcm2836LocalIntc::xlate(std::span<const uint32_t> cells, unsigned cpu) const {
    if (cells.size() != 2)
        return Error{"local_intc interrupt specifier has " + std::to_string(cells.size()) +
                     " cells; expected 2 (<hwirq flags>)"};
    uint32_t hwirq = cells[0];
    std::string where =
        "local_intc interrupt <" + std::to_string(hwirq) + " " + std::to_string(cells[1]) + ">: ";
    if (hwirq <= kSrcCntv || hwirq == kSrcPmu) {
        if (cpu >= cores_)
            return Error{where + "cpu " + std::to_string(cpu) + " is not wired (" +
                         std::to_string(cores_) + " cores)"};
        return input(cpu, hwirq);
    }
    if (hwirq == kSrcGpu)
        return kInputGpuIrq;
    if (hwirq >= kSrcMailbox0 && hwirq < kSrcGpu)
        return Error{where + "mailbox interrupts (4-7) are internal IPIs, not DT inputs"};
    if (hwirq == kSrcLocalTimer)
        return Error{where + "the local timer (11) is internal, not a DT input"};
    return Error{where + "hwirq " + std::to_string(hwirq) +
                 " does not exist (0-3 timers, 8 GPU, 9 PMU)"};
}

std::optional<unsigned> Bcm2836LocalIntc::hwirq(std::span<const uint32_t> cells) const {
    if (xlate(cells, 0).is_error())
        return std::nullopt;
    return cells[0];
}

bool Bcm2836LocalIntc::is_percpu(std::span<const uint32_t> cells) const {
    return !cells.empty() && (cells[0] <= kSrcCntv || cells[0] == kSrcPmu);
}

} // namespace piemu
