// BCM2835 MPHI ("message-based parallel host interface", the VideoCore's host port) at
// 0x3f006000 (bus address 0x7e006000, 4 KiB) on the Pi 2 and 3, one interrupt (GPU IRQ
// 32). No DT binding of its own: Raspbian's bcm270x.dtsi lists it as the second `reg`
// window and the first interrupt of its usb node ("brcm,bcm2708-usb"), and the board
// builder makes it together with the USB controller (Bcm2835Usb).
//
// Broadcom publishes no datasheet for it. What Raspbian's dwc_otg driver does with it
// is the contract modelled here: the driver's FIQ, which owns the USB interrupt, raises
// an ordinary IRQ for the work it leaves to the IRQ handler by sending a dummy message
// out of the MPHI with an end-of-transfer interrupt. Register offsets from Raspbian's
// dwc_otg_hcd.c (mphi_regs: ctrl 0x4c, outdda 0x28, outddb 0x2c, intstat 0x50) and
// dwc_otg_fiq_fsm.c (the kick: intstat = 1 << 29, outdda = buffer, outddb = 1 << 29;
// the IRQ handler's acknowledge: intstat = 1 << 16; after 50 kicks ctrl = ENABLE |
// 1 << 16, poll ctrl bit 17, ctrl = ENABLE). Bit names and reset values from Circle's
// lib/mphi.cpp (OUTDDB_TENDINT 29, CTRL_REQ_SOFT_RST 16, CTRL_SOFT_RST_DNE 17,
// CTRL_ENABLE 31, INTSTAT_TXEND 16, INTSTAT_IMFOFLW 29) and a public VideoCore IV
// register map of the MPHI block (field layout, CTRL reset EIGHTBIT | STBY).
//
// What the model does: while CTRL.ENABLE is set, a write to OUTDDB with TENDINT sends
// the message OUTDDA/OUTDDB describe at once and sets INTSTAT.TXEND. The interrupt line
// is high while INTSTAT.TXEND is set; writing 1 to an INTSTAT bit clears it. A CTRL
// write with REQ_SOFT_RST resets the output side and reads back SOFT_RST_DNE until
// REQ_SOFT_RST is written 0.
//
// Not modelled:
//  - the message data: nothing is read from OUTDDA (there is no VideoCore to read it);
//  - the input channels (C0/C1/HS IND* registers), the AXI configuration and INTCTRL's
//    error interrupts: stored (INTCTRL, AXI*) or read as zero, and never raised;
//  - the output message FIFO filling up: Circle notes that "the device stops
//    generating interrupts after 124 attempts" without a soft reset; here every kick
//    interrupts (Raspbian and Circle reset it every 50 kicks, so they never see it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "piemu/device.hpp"

namespace piemu {

class Bcm2835Mphi final : public Device {
public:
    /// Register offsets (the register map's names). All 32-bit.
    enum class Reg : uint32_t {
        Outdda = 0x28,   ///< RW 32: start address of the outgoing message
        Outddb = 0x2c,   ///< RW 30: LENGTH [19:0], HANDLE [27:20], CHANNEL [28],
                         ///< TENDINT [29]; a write sends the message
        Axipriv = 0x40,  ///< RW 9: AXI protection bits (stored)
        Rxaxicfg = 0x44, ///< RW 17: receive AXI priorities (stored)
        Txaxicfg = 0x48, ///< RW 17: transmit AXI priorities (stored)
        Ctrl = 0x4c,     ///< RW: ENABLE [31], STBY [27], SOFT_RST_DNE [17] (RO),
                         ///< REQ_SOFT_RST [16], EIGHTBIT [12], INVERT [8], DIRECT [4],
                         ///< HATVAL [0]
        Intstat = 0x50,  ///< W1C: TXEND [16], IMFOFLW [29] and the error bits
        Version = 0x54,  ///< RO: not known; reads 0
        Intctrl = 0x58,  ///< RW 21: error interrupt enables (stored; errors never occur)
    };
    static constexpr uint32_t kMmioSize = 0x1000;

    static constexpr uint32_t kOutddbTendInt = 1u << 29;
    static constexpr uint32_t kCtrlReqSoftRst = 1u << 16;
    static constexpr uint32_t kCtrlSoftRstDone = 1u << 17;
    static constexpr uint32_t kCtrlEnable = 1u << 31;
    static constexpr uint32_t kIntstatTxEnd = 1u << 16;
    static constexpr uint32_t kIntstatImfOflw = 1u << 29;

    explicit Bcm2835Mphi(std::string name);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// CTRL 0x08001000 (STBY | EIGHTBIT, the register map's field resets), AXIPRIV
    /// 0x22, everything else 0; the line low.
    void reset() override;

    /// The interrupt line (GPU IRQ 32: the first interrupt of Raspbian's usb node).
    std::vector<IrqLine*> irq_outputs() override { return {&irq_}; }
    IrqLine& irq() { return irq_; }
    /// Messages sent since reset (each OUTDDB write while enabled).
    uint64_t messages_sent() const { return sent_; }

private:
    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    void update();

    IrqLine irq_;
    uint32_t outdda_ = 0;
    uint32_t outddb_ = 0;
    uint32_t axipriv_ = 0;
    uint32_t rxaxicfg_ = 0;
    uint32_t txaxicfg_ = 0;
    uint32_t ctrl_ = 0;
    uint32_t intstat_ = 0;
    uint32_t intctrl_ = 0;
    uint64_t sent_ = 0;
};

} // namespace piemu
