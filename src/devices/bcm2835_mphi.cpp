// BCM2835 MPHI. See bcm2835_mphi.hpp for the sources and what is not modelled.
//
// Modelling choices:
//  - A message is sent only while CTRL.ENABLE is set: Raspbian's driver and Circle
//    both set ENABLE before the first kick and check that it reads back.
//  - The end-of-transfer interrupt is immediate: the message is a few bytes over the
//    AXI bus, far shorter than anything the FIQ or IRQ code does in between.
//  - INTSTAT bits are write-1-to-clear over the register map's writable mask
//    0xf9111111; only TXEND is ever set, so the line is TXEND.
//  - REQ_SOFT_RST: the reset is done at once, so SOFT_RST_DNE reads 1 as long as
//    REQ_SOFT_RST stays written (the drivers poll it, then write ENABLE alone, which
//    clears both). It ends a message in progress and leaves INTSTAT alone (the drivers
//    clear TXEND before they reset).
#include "devices/bcm2835_mphi.hpp"

#include <utility>

namespace piemu {

namespace {

using Reg = Bcm2835Mphi::Reg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

constexpr uint32_t kOutddbMask = 0x3fffffff;
constexpr uint32_t kAxiprivMask = 0x177;
constexpr uint32_t kAxiprivReset = 0x22; // TXPROT 2, RXPROT 2
constexpr uint32_t kAxicfgMask = 0x1ffff;
constexpr uint32_t kCtrlMask = 0x88011111;  // writable: all but SOFT_RST_DNE
constexpr uint32_t kCtrlReset = 0x08001000; // STBY | EIGHTBIT
constexpr uint32_t kIntstatMask = 0xf9111111;
constexpr uint32_t kIntctrlMask = 0x00111111;

} // namespace

Bcm2835Mphi::Bcm2835Mphi(std::string name) : Device(std::move(name)) {
    Bcm2835Mphi::reset();
}

void Bcm2835Mphi::reset() {
    outdda_ = outddb_ = 0;
    axipriv_ = kAxiprivReset;
    rxaxicfg_ = txaxicfg_ = 0;
    ctrl_ = kCtrlReset;
    intstat_ = 0;
    intctrl_ = 0;
    sent_ = 0;
    update();
}

uint32_t Bcm2835Mphi::read(uint32_t offset, unsigned size) {
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Bcm2835Mphi::write(uint32_t offset, uint32_t value, unsigned size) {
    // A narrow write is merged with the stored value; INTSTAT merges with 0 so that
    // untouched lanes clear nothing, and OUTDDB's other lanes keep their fields.
    write_register_lane(
        *this, offset, value, size, kMmioSize,
        [this](uint32_t aligned) { return aligned == off(Reg::Intstat) ? 0 : read_reg(aligned); },
        [this](uint32_t aligned, uint32_t v) { write_reg(aligned, v); });
}

uint32_t Bcm2835Mphi::read_reg(uint32_t offset) {
    switch (static_cast<Reg>(offset)) {
    case Reg::Outdda:
        return outdda_;
    case Reg::Outddb:
        return outddb_;
    case Reg::Axipriv:
        return axipriv_;
    case Reg::Rxaxicfg:
        return rxaxicfg_;
    case Reg::Txaxicfg:
        return txaxicfg_;
    case Reg::Ctrl:
        return ctrl_ | ((ctrl_ & kCtrlReqSoftRst) ? kCtrlSoftRstDone : 0);
    case Reg::Intstat:
        return intstat_;
    case Reg::Version:
        return 0;
    case Reg::Intctrl:
        return intctrl_;
    }
    if (offset < 0x70) // the input channels and HS input registers (0x00-0x24, 0x5c-0x6c)
        log_unimplemented(*this, offset, "MPHI input-channel register read (reads 0)");
    else
        log_guest_error(*this, offset, "read of unknown register");
    return 0;
}

void Bcm2835Mphi::write_reg(uint32_t offset, uint32_t value) {
    switch (static_cast<Reg>(offset)) {
    case Reg::Outdda:
        outdda_ = value;
        break;
    case Reg::Outddb:
        if (value & ~kOutddbMask)
            log_guest_error(*this, offset, "OUTDDB bits 31:30 do not exist");
        outddb_ = value & kOutddbMask;
        if (!(ctrl_ & kCtrlEnable)) {
            log_guest_error(*this, offset, "message sent while CTRL.ENABLE is clear: dropped");
            break;
        }
        ++sent_;
        if (outddb_ & kOutddbTendInt)
            intstat_ |= kIntstatTxEnd;
        break;
    case Reg::Axipriv:
        axipriv_ = value & kAxiprivMask;
        break;
    case Reg::Rxaxicfg:
        rxaxicfg_ = value & kAxicfgMask;
        break;
    case Reg::Txaxicfg:
        txaxicfg_ = value & kAxicfgMask;
        break;
    case Reg::Ctrl:
        ctrl_ = value & kCtrlMask;
        break;
    case Reg::Intstat:
        intstat_ &= ~(value & kIntstatMask);
        break;
    case Reg::Version:
        log_guest_error(*this, offset, "write to read-only VERSION ignored");
        break;
    case Reg::Intctrl:
        intctrl_ = value & kIntctrlMask;
        break;
    default:
        if (offset < 0x70)
            log_unimplemented(*this, offset, "MPHI input-channel register write (ignored)");
        else
            log_guest_error(*this, offset, "write to unknown register ignored");
        break;
    }
    update();
}

void Bcm2835Mphi::update() {
    irq_.set((intstat_ & kIntstatTxEnd) != 0);
}

} // namespace piemu
