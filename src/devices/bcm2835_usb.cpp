// The dwc_otg USB host controller. See bcm2835_usb.hpp for the sources and what is not
// modelled.
//
// Modelling choices, with their evidence:
//
//  - Host mode: GOTGCTL.ConIDSts reads 0 on a real Pi (GOTGCTL 0x001c0000: an
//    A-device, the ID pin grounded), so the core is a host unless GUSBCFG.ForceDevMode
//    is set without ForceHstMode. GINTSTS.CurMod shows it.
//  - GINTSTS: the bits Linux's hw.h and the databook text in dwc_otg_regs.h call
//    read-only (CurMod, OTGInt, RxFLvl, NPTxFEmp, GINNakEff, GOUTNakEff, IEPInt,
//    OEPInt, PrtInt, HChInt, PTxFEmp) are computed; every other bit is latched and
//    cleared by writing 1, as QEMU's dwc2_glbreg_write does. The TxFIFOs are always
//    empty (nothing is ever queued), so NPTxFEmp and PTxFEmp read 1. PrtInt is the OR
//    of HPRT0's change bits, HChInt is (HAINT & HAINTMSK) != 0, and HAINT bit n is
//    (HCINT(n) & HCINTMSK(n)) != 0, so clearing the source clears the summary.
//  - GRSTCTL.CSftRst follows the 2.80a databook text quoted in Raspbian's
//    dwc_otg_regs.h: the state machines go idle (every channel is disabled without an
//    interrupt, the port is disabled, SOFs stop, the frame counter restarts), the
//    interrupt mask bits are cleared (GINTMSK, HAINTMSK, every HCINTMSK), the
//    interrupt status bits are not, and the configuration registers (GAHBCFG,
//    GUSBCFG, HCFG, HFIR, the FIFO sizes, the channels' characteristics, port power)
//    are unchanged. (Newer databooks clear more; this is the Pi's release.) The reset
//    is done at once: CSftRst, HSftRst, FrmCntrRst and the flush bits read 0 after the
//    write (there is nothing to flush), and AHBIdle always reads 1, which is what
//    every driver polls for.
//  - The root port follows the databook's HPRT0 description, as Linux's dwc2 and
//    QEMU use it: PrtConnDet, PrtEnChng and PrtOvrCurrChng are write-1-to-clear;
//    writing 1 to PrtEna disables the port (the application cannot enable it);
//    PrtEnChng is set whenever PrtEna changes. Power on with a device attached
//    connects it (PrtConnSts, PrtConnDet); power off disconnects it (GINTSTS.
//    DisconnInt, the port disabled). Writing PrtRst 1 disables the port and drives
//    reset; writing it 0 ends the reset and, with a device connected, enables the port
//    at high speed (the LAN9514 is a high-speed hub). PrtLnSts reads the line: J (D+
//    high, 0x1) while a connected device waits for its reset, as a high-speed device
//    first attaches at full speed, SE0 (0) otherwise. Suspend (PrtSusp) stops SOFs
//    until a resume (PrtRes written 1 then 0).
//  - SOFs: every 125 us of virtual time from the moment the port is enabled (the
//    first one 125 us after), while the core is a host and the port enabled and not
//    suspended; the timer is cancelled otherwise, so an idle board schedules nothing.
//    Each SOF advances HFNUM.FrNum (14 bits, Linux's HFNUM_MAX_FRNUM 0x3fff; it reads
//    0x3fff after reset so that the first SOF is frame 0) and sets GINTSTS.Sof.
//    HFNUM.FrRem counts the 60 MHz UTMI+ PHY clocks left in the microframe (7500 at
//    its start). QEMU's dwc2_sof/dwc2_frame_boundary do the same per frame.
//  - Channels: writing HCCHAR with ChEna starts a transaction. No device answers (the
//    hub behind the port is not modelled, a disabled port sends nothing), so after
//    kNoResponseNs the channel halts with XactErr | ChHltd, ChEna clears and HCTSIZ
//    and HCDMA are left as they were: QEMU reports a transfer to a missing device
//    (USB_RET_NODEV) the same way. Periodic transactions are not held for their
//    (micro)frame. Writing ChDis halts the channel at once with ChHltd alone (a
//    pending transaction is dropped), as QEMU's dwc2_hreg1_write does; Linux's
//    dwc2_hc_halt writes ChEna | ChDis and waits for that ChHltd.
//  - Reset values are those read from real Pis (see the header). HPTXFSIZ's is not in
//    those dumps: 0x02001100 puts a 512-word periodic FIFO after the receive (0x1000
//    words) and non-periodic (0x100) FIFOs; drivers program all three anyway.
#include "devices/bcm2835_usb.hpp"

#include <utility>

namespace piemu {

namespace {

using Reg = Bcm2835Usb::Reg;
using ChReg = Bcm2835Usb::ChReg;

constexpr uint32_t off(Reg r) {
    return static_cast<uint32_t>(r);
}

constexpr uint32_t kGsnpsid = 0x4f54280a;
constexpr uint32_t kGhwcfg1 = 0x00000000;
constexpr uint32_t kGhwcfg2 = 0x228ddd50; // internal DMA, UTMI+, 8 channels, queues of 8
constexpr uint32_t kGhwcfg3 = 0x0ff000e8; // 4080-word FIFO RAM, 19/10-bit counters
constexpr uint32_t kGhwcfg4 = 0x1ff00020;
constexpr uint32_t kGotgctl = 0x001c0000; // ConIDSts 0 (A-device), sessions valid
constexpr uint32_t kQueueDepth = 8;       // GHWCFG2 NPTxQDepth / PTxQDepth = 2: 8 entries

constexpr uint32_t kGusbcfgReset = 0x00001400; // USBTrdTim 5
constexpr uint32_t kGrxfsizReset = 0x1000;
constexpr uint32_t kGnptxfsizReset = 0x01001000;
constexpr uint32_t kHptxfsizReset = 0x02001100;
constexpr uint32_t kHfirReset = 60000;

constexpr uint32_t kGahbcfgMask = 0x1bf; // GlblIntrMsk, HBstLen, DMAEn, NPTxFEmpLvl, PTxFEmpLvl
constexpr uint32_t kGusbcfgForceHst = 1u << 29;
constexpr uint32_t kGusbcfgForceDev = 1u << 30;
constexpr uint32_t kGusbcfgCorruptTx = 1u << 31;
constexpr uint32_t kGintOtgInt = 1u << 2;
constexpr uint32_t kGintNpTxFEmp = 1u << 5;
constexpr uint32_t kGintPTxFEmp = 1u << 26;
// CurMod, OTGInt, RxFLvl, NPTxFEmp, GINNakEff, GOUTNakEff, IEPInt, OEPInt, PrtInt,
// HChInt, PTxFEmp: read-only; the rest is write-1-to-clear.
constexpr uint32_t kGintReadOnly = 0x070c00f5;
constexpr uint32_t kGotgintW1c = 0x000e0304;
constexpr uint32_t kRstFrmCntrRst = 1u << 2;
constexpr uint32_t kRstTxFNum = 0x7c0;
constexpr uint32_t kHcfgMask = 0x7;
constexpr uint32_t kHfirMask = 0xffff;
constexpr uint32_t kHaintmskMask = 0xff;
constexpr uint32_t kPrtLnStsJ = 1u << 10;
constexpr uint32_t kPrtTstCtl = 0xfu << 13;
constexpr uint32_t kFrameMask = 0x3fff;
constexpr uint64_t kPhyHz = 60'000'000; // UTMI+ PHY clock
constexpr uint64_t kPhyClocksPerMicroframe = 7500;
constexpr uint32_t kHcsplitMask = 0x8001ffff;
constexpr uint32_t kHcintMask = 0x7ff;
constexpr uint32_t kHccharMps = 0x7ff;

} // namespace

Bcm2835Usb::Bcm2835Usb(std::string name, VirtualClock& clock, bool connected)
    : Device(std::move(name)), clock_(clock), connected_(connected),
      sof_timer_(clock, this->name() + ".sof", [this] { start_of_frame(); }) {
    for (unsigned n = 0; n < kChannels; ++n)
        xact_timers_[n] = std::make_unique<TimerEvent>(
            clock, this->name() + ".ch" + std::to_string(n), [this, n] { transaction_failed(n); });
    Bcm2835Usb::reset();
}

void Bcm2835Usb::reset() {
    sof_timer_.cancel();
    for (auto& t : xact_timers_)
        t->cancel();
    gotgint_ = 0;
    gahbcfg_ = 0;
    gusbcfg_ = kGusbcfgReset;
    txfnum_ = 0;
    gintsts_ = 0;
    gintmsk_ = 0;
    grxfsiz_ = kGrxfsizReset;
    gnptxfsiz_ = kGnptxfsizReset;
    gi2cctl_ = gpvndctl_ = ggpio_ = guid_ = 0;
    hptxfsiz_ = kHptxfsizReset;
    pcgcctl_ = 0;
    hcfg_ = 0;
    hfir_ = kHfirReset;
    haintmsk_ = 0;
    ch_.fill(Channel{});
    port_power_ = port_enabled_ = port_reset_ = port_suspended_ = port_resume_ = false;
    port_test_ = 0;
    conn_det_ = en_chng_ = false;
    frame_ = kFrameMask;
    sof_base_ = sof_index_ = frame_start_ = 0;
    sof_count_ = 0;
    update();
}

// ---- MMIO ----

uint32_t Bcm2835Usb::read(uint32_t offset, unsigned size) {
    return read_register_lane(*this, offset, size, kMmioSize,
                              [this](uint32_t aligned) { return read_reg(aligned); });
}

void Bcm2835Usb::write(uint32_t offset, uint32_t value, unsigned size) {
    write_register_lane(
        *this, offset, value, size, kMmioSize,
        [this](uint32_t aligned) { return merge_base(aligned); },
        [this](uint32_t aligned, uint32_t v) { write_reg(aligned, v); });
}

/// What a narrow write merges with: 0 for write-1-to-clear registers, HPRT0 without
/// its write-1-to-act bits, GRSTCTL without its self-clearing ones.
uint32_t Bcm2835Usb::merge_base(uint32_t offset) {
    if (offset == off(Reg::Gintsts) || offset == off(Reg::Gotgint))
        return 0;
    if (offset == off(Reg::Hprt0))
        return hprt0() & ~(kPrtConnDet | kPrtEna | kPrtEnChng | kPrtOvrCurrChng);
    if (offset == off(Reg::Grstctl))
        return txfnum_;
    if (offset >= kChannelBase && offset < kChannelBase + kChannels * kChannelStride &&
        offset % kChannelStride == static_cast<uint32_t>(ChReg::Hcint))
        return 0;
    return read_reg(offset);
}

uint32_t Bcm2835Usb::read_reg(uint32_t offset) {
    if (offset >= kChannelBase && offset < kChannelBase + kChannels * kChannelStride)
        return read_channel((offset - kChannelBase) / kChannelStride, offset % kChannelStride);
    if (offset >= 0x800 && offset < 0xe00) {
        log_unimplemented(*this, offset, "device-mode register read (device mode not modelled)");
        return 0;
    }
    if (offset >= 0x1000) {
        log_unimplemented(*this, offset, "data FIFO read (slave mode not modelled)");
        return 0;
    }
    switch (static_cast<Reg>(offset)) {
    case Reg::Gotgctl:
        return kGotgctl;
    case Reg::Gotgint:
        return gotgint_;
    case Reg::Gahbcfg:
        return gahbcfg_;
    case Reg::Gusbcfg:
        return gusbcfg_;
    case Reg::Grstctl:
        return kRstAhbIdle | txfnum_;
    case Reg::Gintsts:
        return gintsts();
    case Reg::Gintmsk:
        return gintmsk_;
    case Reg::Grxstsr:
    case Reg::Grxstsp:
        return 0; // the receive FIFO is always empty
    case Reg::Grxfsiz:
        return grxfsiz_;
    case Reg::Gnptxfsiz:
        return gnptxfsiz_;
    case Reg::Gnptxsts:
        return (kQueueDepth << 16) | (gnptxfsiz_ >> 16);
    case Reg::Gi2cctl:
        return gi2cctl_;
    case Reg::Gpvndctl:
        return gpvndctl_;
    case Reg::Ggpio:
        return ggpio_;
    case Reg::Guid:
        return guid_;
    case Reg::Gsnpsid:
        return kGsnpsid;
    case Reg::Ghwcfg1:
        return kGhwcfg1;
    case Reg::Ghwcfg2:
        return kGhwcfg2;
    case Reg::Ghwcfg3:
        return kGhwcfg3;
    case Reg::Ghwcfg4:
        return kGhwcfg4;
    case Reg::Hptxfsiz:
        return hptxfsiz_;
    case Reg::Hcfg:
        return hcfg_;
    case Reg::Hfir:
        return hfir_;
    case Reg::Hfnum:
        return hfnum();
    case Reg::Hptxsts:
        return (kQueueDepth << 16) | (hptxfsiz_ >> 16);
    case Reg::Haint:
        return haint();
    case Reg::Haintmsk:
        return haintmsk_;
    case Reg::Hprt0:
        return hprt0();
    case Reg::Pcgcctl:
        return pcgcctl_;
    }
    log_guest_error(*this, offset, "read of unknown register");
    return 0;
}

void Bcm2835Usb::write_reg(uint32_t offset, uint32_t value) {
    if (offset >= kChannelBase && offset < kChannelBase + kChannels * kChannelStride) {
        write_channel((offset - kChannelBase) / kChannelStride, offset % kChannelStride, value);
        return;
    }
    if (offset >= 0x800 && offset < 0xe00) {
        log_unimplemented(*this, offset, "device-mode register write (device mode not modelled)");
        return;
    }
    if (offset >= 0x1000) {
        log_unimplemented(*this, offset, "data FIFO write (slave mode not modelled)");
        return;
    }
    switch (static_cast<Reg>(offset)) {
    case Reg::Gotgint:
        gotgint_ &= ~(value & kGotgintW1c);
        break;
    case Reg::Gahbcfg:
        gahbcfg_ = value & kGahbcfgMask;
        break;
    case Reg::Gusbcfg:
        if (value & kGusbcfgCorruptTx)
            log_guest_error(*this, offset, "GUSBCFG.CorruptTxPkt (debug only) ignored");
        gusbcfg_ = value & ~kGusbcfgCorruptTx;
        if (!host_mode())
            log_unimplemented(*this, offset, "ForceDevMode: device mode not modelled");
        update_sof();
        break;
    case Reg::Grstctl:
        write_grstctl(value);
        break;
    case Reg::Gintsts:
        gintsts_ &= ~(value & ~kGintReadOnly);
        break;
    case Reg::Gintmsk:
        gintmsk_ = value & ~1u; // bit 0 is reserved
        break;
    case Reg::Grxfsiz:
        grxfsiz_ = value & 0xffff;
        break;
    case Reg::Gnptxfsiz:
        gnptxfsiz_ = value;
        break;
    case Reg::Gi2cctl:
        gi2cctl_ = value;
        break;
    case Reg::Gpvndctl:
        gpvndctl_ = value;
        break;
    case Reg::Ggpio:
        ggpio_ = value;
        break;
    case Reg::Guid:
        guid_ = value;
        break;
    case Reg::Hptxfsiz:
        hptxfsiz_ = value;
        break;
    case Reg::Hcfg:
        hcfg_ = value & kHcfgMask;
        break;
    case Reg::Hfir:
        hfir_ = value & kHfirMask;
        break;
    case Reg::Haintmsk:
        haintmsk_ = value & kHaintmskMask;
        break;
    case Reg::Hprt0:
        write_hprt0(value);
        break;
    case Reg::Pcgcctl:
        pcgcctl_ = value;
        break;
    case Reg::Gotgctl:
    case Reg::Grxstsr:
    case Reg::Grxstsp:
    case Reg::Gnptxsts:
    case Reg::Gsnpsid:
    case Reg::Ghwcfg1:
    case Reg::Ghwcfg2:
    case Reg::Ghwcfg3:
    case Reg::Ghwcfg4:
    case Reg::Hfnum:
    case Reg::Hptxsts:
    case Reg::Haint:
        log_guest_error(*this, offset, "write to read-only register ignored");
        break;
    default:
        log_guest_error(*this, offset, "write to unknown register ignored");
        break;
    }
    update();
}

uint32_t Bcm2835Usb::read_channel(unsigned n, uint32_t reg) {
    const Channel& c = ch_[n];
    switch (static_cast<ChReg>(reg)) {
    case ChReg::Hcchar:
        return c.hcchar;
    case ChReg::Hcsplt:
        return c.hcsplt;
    case ChReg::Hcint:
        return c.hcint;
    case ChReg::Hcintmsk:
        return c.hcintmsk;
    case ChReg::Hctsiz:
        return c.hctsiz;
    case ChReg::Hcdma:
        return c.hcdma;
    }
    log_guest_error(*this, kChannelBase + n * kChannelStride + reg,
                    "read of unknown channel register");
    return 0;
}

void Bcm2835Usb::write_channel(unsigned n, uint32_t reg, uint32_t value) {
    Channel& c = ch_[n];
    uint32_t offset = kChannelBase + n * kChannelStride + reg;
    switch (static_cast<ChReg>(reg)) {
    case ChReg::Hcchar:
        write_hcchar(n, value);
        break;
    case ChReg::Hcsplt:
        c.hcsplt = value & kHcsplitMask;
        break;
    case ChReg::Hcint:
        c.hcint &= ~(value & kHcintMask);
        break;
    case ChReg::Hcintmsk:
        c.hcintmsk = value & kHcintMask;
        break;
    case ChReg::Hctsiz:
        c.hctsiz = value;
        break;
    case ChReg::Hcdma:
        if (value & 3)
            log_guest_error(*this, offset, "HCDMA not word aligned (the DMA needs 4 bytes)");
        c.hcdma = value;
        break;
    default:
        log_guest_error(*this, offset, "write to unknown channel register ignored");
        break;
    }
    update();
}

// ---- state ----

bool Bcm2835Usb::host_mode() const {
    return !(gusbcfg_ & kGusbcfgForceDev) || (gusbcfg_ & kGusbcfgForceHst);
}

uint32_t Bcm2835Usb::gintsts() const {
    uint32_t v = gintsts_ | kGintNpTxFEmp | kGintPTxFEmp;
    if (host_mode())
        v |= kGintCurMod;
    if (gotgint_)
        v |= kGintOtgInt;
    if (conn_det_ || en_chng_)
        v |= kGintPrtInt;
    if (haint() & haintmsk_)
        v |= kGintHChInt;
    return v;
}

uint32_t Bcm2835Usb::haint() const {
    uint32_t v = 0;
    for (unsigned n = 0; n < kChannels; ++n)
        if (ch_[n].hcint & ch_[n].hcintmsk)
            v |= 1u << n;
    return v;
}

uint32_t Bcm2835Usb::hfnum() const {
    uint64_t remaining = 0;
    if (sof_timer_.armed()) {
        uint64_t now = clock_.now();
        uint64_t elapsed =
            now > frame_start_ ? clock_.cycles_to_ticks(now - frame_start_, kPhyHz) : 0;
        remaining = elapsed < kPhyClocksPerMicroframe ? kPhyClocksPerMicroframe - elapsed : 0;
    }
    return uint32_t(remaining << 16) | frame_;
}

uint32_t Bcm2835Usb::hprt0() const {
    bool conn = port_connected();
    uint32_t v = (conn ? kPrtConnSts : 0) | (conn_det_ ? kPrtConnDet : 0) |
                 (port_enabled_ ? kPrtEna : 0) | (en_chng_ ? kPrtEnChng : 0) |
                 (port_resume_ ? kPrtRes : 0) | (port_suspended_ ? kPrtSusp : 0) |
                 (port_reset_ ? kPrtRst : 0) | (port_power_ ? kPrtPwr : 0) | port_test_;
    if (conn && !port_reset_ && !port_enabled_)
        v |= kPrtLnStsJ;
    return v; // PrtSpd [18:17] = 0: high speed
}

void Bcm2835Usb::write_grstctl(uint32_t value) {
    txfnum_ = value & kRstTxFNum;
    if (value & kRstCSftRst)
        core_soft_reset();
    if (value & kRstFrmCntrRst)
        frame_ = kFrameMask; // the next SOF is frame 0
    // NOTE: HSftRst (bit 1) and the flushes (bits 5:3) have no state to act on: they
    // are done at once and read 0.
}

void Bcm2835Usb::core_soft_reset() {
    for (unsigned n = 0; n < kChannels; ++n) {
        xact_timers_[n]->cancel();
        ch_[n].hcchar &= ~(kChEna | kChDis);
        ch_[n].hcintmsk = 0;
    }
    gintmsk_ = 0;
    haintmsk_ = 0;
    port_enabled_ = port_reset_ = port_suspended_ = port_resume_ = false;
    frame_ = kFrameMask;
    update_sof();
}

void Bcm2835Usb::write_hprt0(uint32_t value) {
    if (value & kPrtConnDet)
        conn_det_ = false;
    if (value & kPrtEnChng)
        en_chng_ = false;
    port_test_ = value & kPrtTstCtl;
    set_port_power(value & kPrtPwr);
    if ((value & kPrtEna) && port_enabled_)
        set_port_enabled(false);
    bool resume = value & kPrtRes;
    if (port_resume_ && !resume)
        port_suspended_ = false; // the end of resume signalling
    port_resume_ = resume && port_connected();
    if ((value & kPrtSusp) && port_enabled_)
        port_suspended_ = true;
    bool rst = value & kPrtRst;
    if (rst && !port_reset_) {
        port_reset_ = true;
        port_suspended_ = false;
        set_port_enabled(false);
    } else if (!rst && port_reset_) {
        port_reset_ = false;
        if (port_connected())
            set_port_enabled(true);
    }
    update_sof();
}

void Bcm2835Usb::set_port_power(bool on) {
    if (on == port_power_)
        return;
    bool was = port_connected();
    port_power_ = on;
    if (!was && port_connected())
        conn_det_ = true;
    if (was && !port_connected()) {
        gintsts_ |= kGintDisconnInt;
        port_reset_ = port_suspended_ = port_resume_ = false;
        set_port_enabled(false);
    }
}

void Bcm2835Usb::set_port_enabled(bool on) {
    if (on == port_enabled_)
        return;
    port_enabled_ = on;
    en_chng_ = true;
    update_sof();
}

void Bcm2835Usb::update_sof() {
    bool run = host_mode() && port_enabled_ && !port_suspended_;
    if (!run) {
        sof_timer_.cancel();
        return;
    }
    if (sof_timer_.armed())
        return;
    sof_base_ = frame_start_ = clock_.now();
    sof_index_ = 0;
    sof_timer_.arm_at(sof_base_ + clock_.ticks_to_cycles(1, kMicroframeHz));
}

void Bcm2835Usb::start_of_frame() {
    ++sof_index_;
    ++sof_count_;
    frame_ = (frame_ + 1) & kFrameMask;
    frame_start_ = sof_base_ + clock_.ticks_to_cycles(sof_index_, kMicroframeHz);
    gintsts_ |= kGintSof;
    sof_timer_.arm_at(sof_base_ + clock_.ticks_to_cycles(sof_index_ + 1, kMicroframeHz));
    update();
}

void Bcm2835Usb::write_hcchar(unsigned n, uint32_t value) {
    Channel& c = ch_[n];
    uint32_t fields = value & ~(kChEna | kChDis);
    bool active = c.hcchar & kChEna;
    if (value & kChDis) {
        // A halt request: the channel stops at once and reports ChHltd.
        xact_timers_[n]->cancel();
        c.hcchar = fields;
        c.hcint |= kHcintChHltd;
        return;
    }
    c.hcchar = fields | (active ? kChEna : 0);
    if (!(value & kChEna) || active)
        return; // ChEna is cleared by the core only; a running channel keeps going
    if ((fields & kHccharMps) == 0)
        log_guest_error(*this, kChannelBase + n * kChannelStride, "channel enabled with MPS 0");
    c.hcchar |= kChEna;
    xact_timers_[n]->arm_at(clock_.now() + clock_.ticks_to_cycles(kNoResponseNs, 1'000'000'000));
}

void Bcm2835Usb::transaction_failed(unsigned n) {
    Channel& c = ch_[n];
    c.hcchar &= ~(kChEna | kChDis);
    c.hcint |= kHcintXactErr | kHcintChHltd;
    update();
}

void Bcm2835Usb::update() {
    irq_.set((gahbcfg_ & kGahbGlblIntrMsk) && (gintsts() & gintmsk_));
}

} // namespace piemu
