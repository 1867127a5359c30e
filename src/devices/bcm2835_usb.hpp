// The BCM2835's USB 2.0 controller: a Synopsys DesignWare Hi-Speed USB 2.0 On-The-Go
// core ("dwc_otg", release 2.80a), DT compatible "brcm,bcm2835-usb" (mainline) or
// "brcm,bcm2708-usb" (Raspbian), at 0x3f980000 (bus address 0x7e980000, reg size
// 0x10000) on the Pi 2 and 3, interrupt GPU IRQ 9. Modelled as a host only.
//
// Synopsys's databook is not public. Register offsets and bits come from Linux's
// drivers/usb/dwc2/hw.h and Raspbian's dwc_otg_regs.h (whose comments quote the
// databook); behaviour from QEMU's hw/usb/hcd-dwc2.c where it models the same thing;
// identification and reset values from register dumps of real Pis (GSNPSID 0x4f54280a,
// GHWCFG1-4 0 / 0x228ddd50 / 0x0ff000e8 / 0x1ff00020, GOTGCTL 0x001c0000, GUSBCFG
// 0x00001400, GRSTCTL 0x80000000, GRXFSIZ 0x1000, GNPTXFSIZ 0x01001000, GNPTXSTS
// 0x00080100, HPRT0 0). See bcm2835_usb.cpp for each modelling choice.
//
// The root port: on the Pi 2 B and 3 B a LAN9514 hub is soldered to it, so by default
// (`connected`) a high-speed device is attached. Powering the port (HPRT0.PrtPwr)
// connects it (PrtConnSts, PrtConnDet); a port reset (PrtRst written 1 then 0)
// enables the port at high speed (PrtEna, PrtEnChng, PrtSpd 0). While the port is
// enabled, not suspended and the core is a host, a start-of-frame comes every 125 us
// of virtual time: HFNUM's frame number advances and GINTSTS.Sof is set. No SOF timer
// runs otherwise. piemu has no model of the hub behind the port: every transaction a
// host channel issues goes unanswered, and the channel halts with XactErr | ChHltd, as
// a controller reports an unresponsive device.
//
// The interrupt line is high while (GINTSTS & GINTMSK) != 0 and GAHBCFG.GlblIntrMsk
// is set.
//
// Not modelled:
//  - device (peripheral) mode: GUSBCFG.ForceDevMode makes GINTSTS.CurMod read 0 and
//    stops SOFs; the device registers (0x800-0xdff) read 0 and ignore writes;
//  - slave (FIFO) mode: the data FIFOs (0x1000-0xffff) read 0, GRXSTSR/P read 0;
//    the core is an internal-DMA core (GHWCFG2) and drivers use DMA;
//  - data: no transaction ever reaches a device, so no DMA happens (HCDMA, HCTSIZ
//    are stored and left unchanged);
//  - HFIR does not change the (micro)frame length, which is always 125 us;
//  - OTG (SRP, HNP, ADP), LPM, power-down (GPWRDN, PCGCCTL are stored or read 0),
//    over-current, descriptor DMA, the I2C and vendor PHY interfaces (stored);
//  - GINTSTS.ModeMis (access to the registers of the other mode): never set.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "piemu/clock.hpp"
#include "piemu/device.hpp"

namespace piemu {

class Bcm2835Usb final : public Device {
public:
    /// Core global, host and port registers (Linux dwc2/hw.h names). All 32-bit.
    enum class Reg : uint32_t {
        Gotgctl = 0x000,   ///< OTG control/status: ConIDSts [16] 0 (A-device), session bits
        Gotgint = 0x004,   ///< W1C: OTG interrupts (never set)
        Gahbcfg = 0x008,   ///< RW: GlblIntrMsk [0], HBstLen [4:1], DMAEn [5], FIFO levels
        Gusbcfg = 0x00c,   ///< RW: PHY selection, turnaround, ForceHstMode [29], ForceDevMode [30]
        Grstctl = 0x010,   ///< CSftRst [0], HSftRst [1], FrmCntrRst [2], flushes [5:3]
                           ///< self-clear; TxFNum [10:6] RW; AHBIdle [31] RO 1
        Gintsts = 0x014,   ///< W1C latched bits; CurMod, OTGInt, PrtInt, HChInt, FIFO-empty RO
        Gintmsk = 0x018,   ///< RW: interrupt mask (1 = enabled)
        Grxstsr = 0x01c,   ///< RO: receive status (slave mode): 0
        Grxstsp = 0x020,   ///< RO: receive status pop (slave mode): 0
        Grxfsiz = 0x024,   ///< RW 16: receive FIFO depth
        Gnptxfsiz = 0x028, ///< RW: non-periodic TxFIFO depth [31:16], start [15:0]
        Gnptxsts = 0x02c,  ///< RO: non-periodic TxFIFO/queue space (always all free)
        Gi2cctl = 0x030,   ///< RW: I2C PHY access (stored)
        Gpvndctl = 0x034,  ///< RW: vendor PHY access (stored)
        Ggpio = 0x038,     ///< RW: general-purpose I/O (stored)
        Guid = 0x03c,      ///< RW: user ID (stored)
        Gsnpsid = 0x040,   ///< RO: 0x4f54280a ("OT" 2.80a)
        Ghwcfg1 = 0x044,   ///< RO: endpoint directions
        Ghwcfg2 = 0x048,   ///< RO: architecture (internal DMA), 8 host channels, queues
        Ghwcfg3 = 0x04c,   ///< RO: FIFO depth 4080 words, counter widths
        Ghwcfg4 = 0x050,   ///< RO: dedicated FIFOs, endpoints
        Hptxfsiz = 0x100,  ///< RW: host periodic TxFIFO depth [31:16], start [15:0]
        Hcfg = 0x400,      ///< RW: FSLSPclkSel [1:0], FSLSSupp [2]
        Hfir = 0x404,      ///< RW: frame interval [15:0] (stored; see Not modelled)
        Hfnum = 0x408,     ///< RO: frame remaining [31:16], (micro)frame number [15:0]
        Hptxsts = 0x410,   ///< RO: periodic TxFIFO/queue space (always all free)
        Haint = 0x414,     ///< RO: channel n has an unmasked HCINT bit [n]
        Haintmsk = 0x418,  ///< RW 8: channel interrupt mask
        Hprt0 = 0x440,     ///< the root port: see the bits below
        Pcgcctl = 0xe00,   ///< RW: power and clock gating (stored)
    };
    /// Host channel registers, at 0x500 + 0x20 * channel.
    enum class ChReg : uint32_t {
        Hcchar = 0x00,   ///< MPS [10:0], EPNum [14:11], EPDir [15], LSpdDev [17], EPType
                         ///< [19:18], MC [21:20], DevAddr [28:22], OddFrm [29],
                         ///< ChDis [30], ChEna [31]
        Hcsplt = 0x04,   ///< RW: split control (stored)
        Hcint = 0x08,    ///< W1C: XferCompl [0], ChHltd [1], AHBErr [2], Stall [3],
                         ///< NAK [4], ACK [5], NYET [6], XactErr [7], BblErr [8],
                         ///< FrmOvrun [9], DataTglErr [10]
        Hcintmsk = 0x0c, ///< RW 11: HCINT mask
        Hctsiz = 0x10,   ///< RW: XferSize [18:0], PktCnt [28:19], PID [30:29], DoPng [31]
        Hcdma = 0x14,    ///< RW: DMA address
    };

    static constexpr uint32_t kMmioSize = 0x10000;
    static constexpr unsigned kChannels = 8;
    static constexpr uint32_t kChannelBase = 0x500;
    static constexpr uint32_t kChannelStride = 0x20;

    // GINTSTS / GINTMSK bits the model raises.
    static constexpr uint32_t kGintCurMod = 1u << 0;
    static constexpr uint32_t kGintSof = 1u << 3;
    static constexpr uint32_t kGintPrtInt = 1u << 24;
    static constexpr uint32_t kGintHChInt = 1u << 25;
    static constexpr uint32_t kGintDisconnInt = 1u << 29;
    // GAHBCFG.
    static constexpr uint32_t kGahbGlblIntrMsk = 1u << 0;
    // GRSTCTL.
    static constexpr uint32_t kRstCSftRst = 1u << 0;
    static constexpr uint32_t kRstAhbIdle = 1u << 31;
    // HPRT0.
    static constexpr uint32_t kPrtConnSts = 1u << 0;
    static constexpr uint32_t kPrtConnDet = 1u << 1;
    static constexpr uint32_t kPrtEna = 1u << 2;
    static constexpr uint32_t kPrtEnChng = 1u << 3;
    static constexpr uint32_t kPrtOvrCurrChng = 1u << 5;
    static constexpr uint32_t kPrtRes = 1u << 6;
    static constexpr uint32_t kPrtSusp = 1u << 7;
    static constexpr uint32_t kPrtRst = 1u << 8;
    static constexpr uint32_t kPrtPwr = 1u << 12;
    // HCCHAR / HCINT.
    static constexpr uint32_t kChDis = 1u << 30;
    static constexpr uint32_t kChEna = 1u << 31;
    static constexpr uint32_t kHcintChHltd = 1u << 1;
    static constexpr uint32_t kHcintXactErr = 1u << 7;

    /// (Micro)frames per second: a high-speed port sends a SOF every 125 us.
    static constexpr uint64_t kMicroframeHz = 8000;
    /// How long a channel's transaction takes to fail when nothing answers: three
    /// attempts (the core's error count), each a token and the high-speed bus
    /// turnaround timeout (USB 2.0 7.1.19.2: up to 816 bit times at 480 Mb/s, 1.7 us).
    static constexpr uint64_t kNoResponseNs = 5100;

    /// `connected`: whether a (high-speed) device sits on the root port.
    Bcm2835Usb(std::string name, VirtualClock& clock, bool connected = true);

    uint32_t mmio_size() const override { return kMmioSize; }
    uint32_t read(uint32_t offset, unsigned size) override;
    void write(uint32_t offset, uint32_t value, unsigned size) override;
    /// Power-on reset: the reset values above (GINTSTS reads CurMod | NPTxFEmp |
    /// PTxFEmp = 0x04000021, HFNUM 0x00003fff, HFIR 60000, HPTXFSIZ 0x02001100, HCFG,
    /// GAHBCFG, GINTMSK, channels and HPRT0 0): the port unpowered, no SOFs, the line low.
    void reset() override;

    /// The single interrupt line (GPU IRQ 9).
    std::vector<IrqLine*> irq_outputs() override { return {&irq_}; }
    IrqLine& irq() { return irq_; }

    bool connected() const { return connected_; }
    /// Start-of-frames generated since reset.
    uint64_t sof_count() const { return sof_count_; }
    /// Whether SOFs are flowing (and the SOF timer is armed).
    bool sof_running() const { return sof_timer_.armed(); }

private:
    struct Channel {
        uint32_t hcchar = 0;
        uint32_t hcsplt = 0;
        uint32_t hcint = 0;
        uint32_t hcintmsk = 0;
        uint32_t hctsiz = 0;
        uint32_t hcdma = 0;
    };

    uint32_t read_reg(uint32_t offset);
    void write_reg(uint32_t offset, uint32_t value);
    uint32_t read_channel(unsigned n, uint32_t reg);
    void write_channel(unsigned n, uint32_t reg, uint32_t value);
    uint32_t merge_base(uint32_t offset);
    void update();

    bool host_mode() const;
    uint32_t gintsts() const;
    uint32_t haint() const;
    uint32_t hfnum() const;
    uint32_t hprt0() const;
    void write_grstctl(uint32_t value);
    void write_hprt0(uint32_t value);
    void write_hcchar(unsigned n, uint32_t value);
    void core_soft_reset();

    bool port_connected() const { return connected_ && port_power_; }
    void set_port_power(bool on);
    void set_port_enabled(bool on);
    void update_sof();
    void start_of_frame();
    void transaction_failed(unsigned n);

    VirtualClock& clock_;
    IrqLine irq_;
    const bool connected_;
    TimerEvent sof_timer_;
    std::array<std::unique_ptr<TimerEvent>, kChannels> xact_timers_;

    // Core global registers.
    uint32_t gotgint_ = 0;
    uint32_t gahbcfg_ = 0;
    uint32_t gusbcfg_ = 0;
    uint32_t txfnum_ = 0;  // GRSTCTL.TxFNum
    uint32_t gintsts_ = 0; // the latched (write-1-to-clear) bits
    uint32_t gintmsk_ = 0;
    uint32_t grxfsiz_ = 0;
    uint32_t gnptxfsiz_ = 0;
    uint32_t gi2cctl_ = 0;
    uint32_t gpvndctl_ = 0;
    uint32_t ggpio_ = 0;
    uint32_t guid_ = 0;
    uint32_t hptxfsiz_ = 0;
    uint32_t pcgcctl_ = 0;

    // Host registers.
    uint32_t hcfg_ = 0;
    uint32_t hfir_ = 0;
    uint32_t haintmsk_ = 0;
    std::array<Channel, kChannels> ch_{};

    // The root port (HPRT0).
    bool port_power_ = false;
    bool port_enabled_ = false;
    bool port_reset_ = false;
    bool port_suspended_ = false;
    bool port_resume_ = false;
    uint32_t port_test_ = 0; // PrtTstCtl [16:13]
    bool conn_det_ = false;
    bool en_chng_ = false;

    // Frames: the SOF timer's schedule counts from sof_base_ (cycles).
    uint32_t frame_ = 0;
    uint64_t sof_base_ = 0;
    uint64_t sof_index_ = 0;   // SOFs since sof_base_
    uint64_t frame_start_ = 0; // cycle the current (micro)frame began
    uint64_t sof_count_ = 0;
};

} // namespace piemu
