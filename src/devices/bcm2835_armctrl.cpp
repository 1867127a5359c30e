// BCM2835 ARM interrupt controller. See bcm2835_armctrl.hpp for the sources and what is
// not modelled.
//
// Modelling choices, with their evidence:
//
//  - Pending registers show raw level AND enable, per bank (QEMU bcm2835_ic.c computes
//    pending = level & enable). Linux depends on it: bcm2835_handle_irq() loops while
//    get_next_armctrl_hwirq() finds a pending bit, so a masked but still asserted level
//    interrupt (a oneshot handler's thread running) would livelock the loop if pending
//    showed raw levels. Reading never clears anything: the sources are levels, cleared
//    at the device that raised them.
//  - Basic pending bits 8 and 9 summarise pending 1 and 2 WITHOUT the eleven GPU IRQs
//    that have shortcut bits 10-20 (7, 9, 10, 18, 19, 53-57, 62): datasheet 7.2 "The
//    'selected GPU interrupts' on the basic pending registers are NOT taken into
//    account for these two status bits", repeated at the pending 1 register ("all bits
//    except 7, 9, 10, 18, 19"). QEMU includes them; Linux works either way, since
//    get_next_armctrl_hwirq() tests the shortcut bits before bits 8/9.
//  - Disable registers read back the enable mask, like the enable registers: the
//    datasheet marks enable bits R/Wbs and disable bits R/Wbc (a readable bit, set or
//    cleared by writing 1), and ChibiOS-RPi PR #7 reports that `IRQ_DISABLE1 |= mask`
//    disables every enabled interrupt, which only happens if the read returns the
//    enable mask. QEMU returns its complement here.
//  - FIQ: the selected source's raw input level drives fiq_out when FIQ control bit 7
//    is set; its IRQ enable plays no part and it still raises irq_out if IRQ-enabled.
//    Datasheet 7.3: "An interrupt which is selected as FIQ should have its normal
//    interrupt enable bit cleared. Otherwise an normal and a FIQ interrupt will be
//    fired at the same time." QEMU's bcm2835_ic_update() does the same. Source values
//    72-127 ("Do not use", 7.5) select no source: FIQ stays low, logged once.
//  - Access width: the registers are 32 bits wide and QEMU accepts 4-byte accesses
//    only (.valid.min_access_size = 4); the model takes aligned 32-bit accesses and
//    logs anything else as a guest error (reads 0, writes ignored), having no way to
//    raise a bus abort.
#include "devices/bcm2835_armctrl.hpp"

#include <cassert>
#include <iterator>
#include <string>

namespace piemu {

namespace {

using Reg = Bcm2835Armctrl::Reg;

// GPU IRQs with a shortcut bit in basic pending, in bit order from bit 10 (7.5 table).
constexpr unsigned kShortcutIrqs[] = {7, 9, 10, 18, 19, 53, 54, 55, 56, 57, 62};
constexpr unsigned kShortcutShift = 10;
constexpr uint32_t kBasicBank1 = 1u << 8;
constexpr uint32_t kBasicBank2 = 1u << 9;

constexpr uint64_t shortcut_mask() {
    uint64_t m = 0;
    for (unsigned irq : kShortcutIrqs)
        m |= uint64_t{1} << irq;
    return m;
}

// FIQ control (7.5): source [6:0], enable [7]. Sources 0-63 GPU, 64-71 ARM basic.
constexpr uint32_t kFiqSourceMask = 0x7f;
constexpr uint32_t kFiqEnable = 1u << 7;
constexpr unsigned kFiqSources = Bcm2835Armctrl::kNumInputs; // 72

constexpr uint32_t lo(uint64_t v) {
    return static_cast<uint32_t>(v);
}
constexpr uint32_t hi(uint64_t v) {
    return static_cast<uint32_t>(v >> 32);
}

} // namespace

Bcm2835Armctrl::Bcm2835Armctrl(std::string name) : Device(std::move(name)) {
    Bcm2835Armctrl::reset();
}

void Bcm2835Armctrl::reset() {
    gpu_enable_ = 0;
    arm_enable_ = 0;
    fiq_select_ = 0;
    fiq_enable_ = false;
    update();
}

void Bcm2835Armctrl::Inputs::set_irq_input(unsigned input, bool level) {
    assert(input < kNumInputs && "ARMCTRL input out of range: board wiring bug");
    Bcm2835Armctrl& s = owner_;
    if (input < kInputArm) {
        uint64_t bit = uint64_t{1} << (input - kInputGpu);
        s.gpu_level_ = level ? s.gpu_level_ | bit : s.gpu_level_ & ~bit;
    } else {
        auto bit = static_cast<uint8_t>(1u << (input - kInputArm));
        s.arm_level_ = static_cast<uint8_t>(level ? s.arm_level_ | bit : s.arm_level_ & ~bit);
    }
    s.update();
}

// ---- MMIO ----

uint32_t Bcm2835Armctrl::read(uint32_t offset, unsigned size) {
    if (size != 4 || offset % 4 != 0 || offset >= kMmioSize) {
        log_guest_error(*this, offset, "read not 32-bit aligned: reads as 0");
        return 0;
    }
    return read_reg(offset);
}

void Bcm2835Armctrl::write(uint32_t offset, uint32_t value, unsigned size) {
    if (size != 4 || offset % 4 != 0 || offset >= kMmioSize) {
        log_guest_error(*this, offset, "write not 32-bit aligned: ignored");
        return;
    }
    write_reg(offset, value);
}

uint32_t Bcm2835Armctrl::read_reg(uint32_t offset) {
    switch (static_cast<Reg>(offset)) {
    case Reg::BasicPending:
        return basic_pending();
    case Reg::Pending1:
        return lo(gpu_pending());
    case Reg::Pending2:
        return hi(gpu_pending());
    case Reg::FiqControl:
        return (fiq_enable_ ? kFiqEnable : 0) | fiq_select_;
    case Reg::Enable1:
    case Reg::Disable1:
        return lo(gpu_enable_);
    case Reg::Enable2:
    case Reg::Disable2:
        return hi(gpu_enable_);
    case Reg::EnableBasic:
    case Reg::DisableBasic:
        return arm_enable_;
    default:
        log_guest_error(*this, offset, "read of unknown register");
        return 0;
    }
}

void Bcm2835Armctrl::write_reg(uint32_t offset, uint32_t value) {
    switch (static_cast<Reg>(offset)) {
    case Reg::FiqControl:
        fiq_select_ = static_cast<uint8_t>(value & kFiqSourceMask);
        fiq_enable_ = (value & kFiqEnable) != 0;
        if (fiq_select_ >= kFiqSources)
            log_guest_error(*this, offset, "FIQ source 72-127 (\"do not use\"): FIQ stays low");
        break;
    case Reg::Enable1:
        gpu_enable_ |= value;
        break;
    case Reg::Enable2:
        gpu_enable_ |= uint64_t{value} << 32;
        break;
    case Reg::EnableBasic:
        arm_enable_ |= static_cast<uint8_t>(value);
        break;
    case Reg::Disable1:
        gpu_enable_ &= ~uint64_t{value};
        break;
    case Reg::Disable2:
        gpu_enable_ &= ~(uint64_t{value} << 32);
        break;
    case Reg::DisableBasic:
        arm_enable_ &= static_cast<uint8_t>(~value);
        break;
    case Reg::BasicPending:
    case Reg::Pending1:
    case Reg::Pending2:
        log_guest_error(*this, offset, "write to read-only pending register");
        return;
    default:
        log_guest_error(*this, offset, "write to unknown register");
        return;
    }
    update();
}

// ---- state ----

uint64_t Bcm2835Armctrl::gpu_pending() const {
    return gpu_level_ & gpu_enable_;
}

uint32_t Bcm2835Armctrl::basic_pending() const {
    uint64_t gpu = gpu_pending();
    uint32_t v = arm_level_ & arm_enable_;
    uint64_t others = gpu & ~shortcut_mask();
    if (lo(others) != 0)
        v |= kBasicBank1;
    if (hi(others) != 0)
        v |= kBasicBank2;
    for (unsigned i = 0; i < std::size(kShortcutIrqs); ++i) {
        if (gpu & (uint64_t{1} << kShortcutIrqs[i]))
            v |= 1u << (kShortcutShift + i);
    }
    return v;
}

bool Bcm2835Armctrl::fiq_source_level() const {
    if (fiq_select_ < kInputArm)
        return (gpu_level_ >> fiq_select_) & 1;
    if (fiq_select_ < kFiqSources)
        return (arm_level_ >> (fiq_select_ - kInputArm)) & 1;
    return false;
}

// Recomputes both outputs from state, reporting the pending bits that rose. Ends every
// register write and input change.
void Bcm2835Armctrl::update() {
    uint64_t gpu = gpu_pending();
    auto arm = static_cast<uint8_t>(arm_level_ & arm_enable_);
    int fiq = fiq_enable_ && fiq_source_level() ? int(fiq_select_) : -1;
    if (delivery_observer_) {
        // Linux's hwirq: GPU IRQ n is 32 + n, ARM source b is b.
        auto report = [this](uint64_t changed, uint64_t now, unsigned base) {
            for (; changed; changed &= changed - 1) {
                unsigned b = unsigned(__builtin_ctzll(changed));
                delivery_observer_->pending_changed(*this, base + b, -1, -1, false, (now >> b) & 1);
            }
        };
        report(gpu ^ delivered_gpu_, gpu, 32);
        report(arm ^ delivered_arm_, arm, 0);
        auto fiq_hwirq = [](int source) {
            return source < int(kInputArm) ? 32 + unsigned(source) : unsigned(source) - kInputArm;
        };
        if (fiq != delivered_fiq_) {
            if (delivered_fiq_ >= 0)
                delivery_observer_->pending_changed(*this, fiq_hwirq(delivered_fiq_), -1, -1, true,
                                                    false);
            if (fiq >= 0)
                delivery_observer_->pending_changed(*this, fiq_hwirq(fiq), -1, -1, true, true);
        }
    }
    delivered_gpu_ = gpu;
    delivered_arm_ = arm;
    delivered_fiq_ = fiq;
    irq_out_.set(gpu != 0 || arm != 0);
    fiq_out_.set(fiq >= 0);
}

void Bcm2835Armctrl::observe_deliveries(DeliveryObserver* observer) {
    delivery_observer_ = observer;
}

// ---- device tree ----

std::optional<unsigned> Bcm2835Armctrl::hwirq(std::span<const uint32_t> cells) const {
    if (xlate(cells, 0).is_error())
        return std::nullopt;
    return cells[0] * 32 + cells[1];
}

ErrorOr<unsigned> Bcm2835Armctrl::xlate(std::span<const uint32_t> cells, unsigned cpu) const {
    (void)cpu;
    if (cells.size() != 2)
        return Error{"ARMCTRL interrupt specifier has " + std::to_string(cells.size()) +
                     " cells; expected 2 (<bank bit>)"};
    uint32_t bank = cells[0];
    uint32_t bit = cells[1];
    auto where = [&] {
        return "ARMCTRL interrupt <" + std::to_string(bank) + " " + std::to_string(bit) + ">: ";
    };
    switch (bank) {
    case 0:
        if (bit >= kArmIrqs)
            return Error{where() + "bank 0 (ARM basic) has bits 0-7 only"};
        return kInputArm + bit;
    case 1:
    case 2:
        if (bit >= 32)
            return Error{where() + "bank " + std::to_string(bank) + " has bits 0-31 only"};
        return kInputGpu + (bank - 1) * 32 + bit;
    default:
        return Error{where() + "bank " + std::to_string(bank) +
                     " does not exist (0 ARM basic, 1 GPU 0-31, 2 GPU 32-63)"};
    }
}

} // namespace piemu
