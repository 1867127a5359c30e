// BCM2835 ARM interrupt controller ("ARMCTRL"), DT compatible "brcm,bcm2836-armctrl-ic":
// the Pi 2/3's interrupt controller for the GPU peripherals and the ARM block, at
// 0x3f00b200 (bus address 0x7e00b200; window 0x200 bytes starting at the basic pending
// register, as in Linux's bcm2836.dtsi).
//
// Modelled after BCM2835 ARM Peripherals (2012), chapter 7 "Interrupts": 7.2 (pending
// registers), 7.3 (FIQ), 7.5 (register table). BCM2836/7 keep this block unchanged and
// feed its two outputs to the ARM local controller (bcm2836_local_intc.hpp) as its
// "GPU IRQ" and "GPU FIQ" inputs.
//
// Inputs: 64 GPU interrupt lines and the 8 ARM "basic" lines, all level sensitive.
// Outputs: IRQ (any enabled source pending) and FIQ (the one source FIQ control selects).
//
// Not modelled (see bcm2835_armctrl.cpp for the evidence behind each modelled choice):
//  - the GPU side: which GPU interrupts the VideoCore itself has claimed (the datasheet
//    warns against enabling e.g. system timer channels 0 and 2); all 64 are usable here;
//  - "GPU1 halted on bit 4" (bit 10 of ARM control register 1): control register 1 is
//    outside this window; input 68 and 69 stay separate;
//  - sub-word accesses: registers are 32 bits wide; byte and halfword accesses are
//    logged as guest errors, read as zero and are ignored when written.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "piemu/device.hpp"
#include "piemu/irqchip.hpp"

namespace piemu {

class Bcm2835Armctrl final : public Device, public InterruptController {
public:
    /// Register offsets, BCM2835 ARM Peripherals 7.5 (minus the 0x200 base). All 32 bits.
    enum class Reg : uint32_t {
        BasicPending = 0x00, ///< RO: ARM sources [7:0], bank summaries [9:8], shortcuts [20:10]
        Pending1 = 0x04,     ///< RO: GPU IRQs 31:0, raw level & enable
        Pending2 = 0x08,     ///< RO: GPU IRQs 63:32, raw level & enable
        FiqControl = 0x0c,   ///< RW 8: source select [6:0] (0-71), enable [7]
        Enable1 = 0x10,      ///< W1S: enable GPU IRQs 31:0; reads the enable mask
        Enable2 = 0x14,      ///< W1S: enable GPU IRQs 63:32; reads the enable mask
        EnableBasic = 0x18,  ///< W1S 8: enable ARM sources; reads the enable mask
        Disable1 = 0x1c,     ///< W1C: disable GPU IRQs 31:0; reads the enable mask
        Disable2 = 0x20,     ///< W1C: disable GPU IRQs 63:32; reads the enable mask
        DisableBasic = 0x24, ///< W1C 8: disable ARM sources; reads the enable mask
    };
    static constexpr uint32_t kMmioSize = 0x200;

    /// irq_sink() inputs: GPU IRQ n is input kInputGpu + n (n < 64), ARM basic source b
    /// (ArmIrq) is input kInputArm + b.
    static constexpr unsigned kGpuIrqs = 64;
    static constexpr unsigned kArmIrqs = 8;
    static constexpr unsigned kInputGpu = 0;
    static constexpr unsigned kInputArm = 64;
    static constexpr unsigned kNumInputs = kInputArm + kArmIrqs;

    /// The ARM basic sources, in basic pending bit order (datasheet 7.5).
    enum ArmIrq : unsigned {
        kArmTimer = 0,
        kArmMailbox = 1,
        kArmDoorbell0 = 2,
        kArmDoorbell1 = 3,
        kArmGpu0Halted = 4,
        kArmGpu1Halted = 5,
        kArmIllegalAccess1 = 6,
        kArmIllegalAccess0 = 7,
    };

    explicit Bcm2835Armctrl(std::string name);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// Datasheet reset values: every enable 0, FIQ control 0 (disabled, source 0). The
    /// input levels are wires driven by other devices and are kept.
    void reset() override;
    /// {&irq_out()}: the DT `interrupts` of the node name the local controller's GPU IRQ
    /// input only; the board wires fiq_out() to the GPU FIQ input itself.
    std::vector<IrqLine*> irq_outputs() override { return {&irq_out_}; }

    /// High while any source is pending and enabled (GPU IRQ input of the local controller).
    IrqLine& irq_out() { return irq_out_; }
    /// High while FIQ control is enabled and its selected source's input is high,
    /// whatever that source's IRQ enable (GPU FIQ input of the local controller).
    IrqLine& fiq_out() { return fiq_out_; }

    /// `#interrupt-cells` = 2: <bank bit>.
    unsigned interrupt_cells() const override { return 2; }
    /// Bank 0 bit 0-7 -> kInputArm + bit; bank 1 bit 0-31 -> bit; bank 2 bit 0-31 ->
    /// 32 + bit (Linux irq-bcm2835.c armctrl_xlate). `cpu` is ignored.
    ErrorOr<unsigned> xlate(std::span<const uint32_t> cells, unsigned cpu) const override;
    IrqSink& irq_sink() override { return inputs_; }
    /// Linux's hwirq (armctrl_xlate's MAKE_HWIRQ): bank 0 bit b -> b (ARM basic), bank
    /// 1/2 bit b -> bank * 32 + b, i.e. GPU IRQ n -> 32 + n.
    std::optional<unsigned> hwirq(std::span<const uint32_t> cells) const override;
    /// Deliveries: a GPU IRQ or ARM source whose pending bit (level AND enable) rises, as
    /// IRQ; the FIQ source's level rising while FIQ control selects and enables it, as
    /// FIQ. Core -1: the local controller's GPU routing says which core.
    void observe_deliveries(DeliveryObserver* observer) override;

private:
    // The input side: a separate object so the device's public API stays the register
    // window and the lines.
    class Inputs final : public IrqSink {
    public:
        explicit Inputs(Bcm2835Armctrl& owner) : owner_(owner) {}
        void set_irq_input(unsigned input, bool level) override;

    private:
        Bcm2835Armctrl& owner_;
    };

    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    uint64_t gpu_pending() const;
    uint32_t basic_pending() const;
    bool fiq_source_level() const;
    void update();

    IrqLine irq_out_;
    IrqLine fiq_out_;
    Inputs inputs_{*this};

    // Input levels (wires, not registers).
    uint64_t gpu_level_ = 0;
    uint8_t arm_level_ = 0;
    // Registers.
    uint64_t gpu_enable_ = 0;
    uint8_t arm_enable_ = 0;
    uint8_t fiq_select_ = 0; // 0-127; 72-127 select nothing
    bool fiq_enable_ = false;

    // What update() last delivered (DeliveryObserver): pending bits, and the FIQ's
    // source while the FIQ output is high (-1: low).
    DeliveryObserver* delivery_observer_ = nullptr;
    uint64_t delivered_gpu_ = 0;
    uint8_t delivered_arm_ = 0;
    int delivered_fiq_ = -1;
};

} // namespace piemu
