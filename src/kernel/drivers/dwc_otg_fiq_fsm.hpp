// Raspbian's dwc_otg FIQ (drivers/usb/host/dwc_otg/dwc_otg_fiq_fsm.c, the default
// "FSM" FIQ of 4.14, fiq_fsm_enable=1): the part of the USB host driver that owns the
// core's interrupt (GPU IRQ 9, routed to FIQ) and hands the IRQ side what it leaves
// through the MPHI block (GPU IRQ 32 = IRQ 62). The kernel model's HCD issues no host
// channel transactions (no device model answers behind the root port), so the FIQ's
// split-transaction state machine (fiq_fsm_do_hcintr, the per-channel states of
// fiq_fsm_do_sof) has nothing to run: what remains is the start-of-frame decision and
// the masking scheme by which the FIQ passes everything else to the IRQ.
//
// The scheme (dwc_otg_fiq_fsm()): the FIQ reads GINTSTS & GINTMSK. It acknowledges SOF
// itself and, when the HCD's periodic schedule has work due in this (micro)frame
// (next_sched_frame, set by the IRQ's SOF handler), clears SOF in gintmsk_saved and
// kicks the IRQ (again at each SOF until the IRQ has run: the MPHI interrupt is a
// level, one IRQ). Any other pending source it does not own is cleared in
// gintmsk_saved and in GINTMSK (SOF stays unmasked: the FIQ needs every SOF) and kicks
// the IRQ. The kick is a dummy MPHI message with its end-of-transfer interrupt
// (OUTDDA, OUTDDB bit 29). The IRQ handler (dwc_otg_hcd_handle_intr) takes the bits
// the FIQ masked from ~gintmsk_saved, resets it to ~0, handles them, writes GINTMSK
// back and, when the FIQ has not masked anything new meanwhile, acknowledges the MPHI
// interrupt (INTSTAT bit 16), soft-resetting the MPHI every 50 kicks.
#pragma once

#include <cstdint>

namespace piemu {
class Bus;
}

namespace piemu::kernel::dwc_otg {

// Core registers (Synopsys databook names; offsets as Linux dwc2/hw.h and Raspbian's
// dwc_otg_regs.h have them).
inline constexpr uint32_t GOTGINT = 0x004, GAHBCFG = 0x008, GUSBCFG = 0x00c, GRSTCTL = 0x010;
inline constexpr uint32_t GINTSTS = 0x014, GINTMSK = 0x018, GRXFSIZ = 0x024, GNPTXFSIZ = 0x028;
inline constexpr uint32_t GSNPSID = 0x040, GHWCFG1 = 0x044, GHWCFG2 = 0x048, GHWCFG3 = 0x04c;
inline constexpr uint32_t GHWCFG4 = 0x050, HPTXFSIZ = 0x100, HCFG = 0x400, HFNUM = 0x408;
inline constexpr uint32_t HAINT = 0x414, HAINTMSK = 0x418, HPRT0 = 0x440, PCGCCTL = 0xe00;
inline constexpr uint32_t HC_START = 0x500, HC_OFFSET = 0x20, HCCHAR = 0x00;
// GINTSTS / GINTMSK bits.
inline constexpr uint32_t GINTSTS_CURMODE_HOST = 1u << 0, GINTSTS_MODEMIS = 1u << 1;
inline constexpr uint32_t GINTSTS_OTGINT = 1u << 2, GINTSTS_SOF = 1u << 3;
inline constexpr uint32_t GINTSTS_USBSUSP = 1u << 11, GINTSTS_RESTOREDONE = 1u << 16;
inline constexpr uint32_t GINTSTS_PRTINT = 1u << 24, GINTSTS_HCHINT = 1u << 25;
inline constexpr uint32_t GINTSTS_CONIDSTSCHNG = 1u << 28, GINTSTS_DISCONNINT = 1u << 29;
inline constexpr uint32_t GINTSTS_SESSREQINT = 1u << 30, GINTSTS_WKUPINT = 1u << 31;
/// HFNUM.FrNum: 14 bits of (micro)frame number (DWC_HFNUM_MAX_FRNUM).
inline constexpr uint32_t HFNUM_MAX_FRNUM = 0x3fff;
// MPHI registers (Raspbian's mphi_regs) and the kick/acknowledge bits.
inline constexpr uint32_t MPHI_OUTDDA = 0x28, MPHI_OUTDDB = 0x2c, MPHI_CTRL = 0x4c;
inline constexpr uint32_t MPHI_INTSTAT = 0x50;
inline constexpr uint32_t MPHI_OUTDDB_TENDINT = 1u << 29, MPHI_INTSTAT_TXEND = 1u << 16;
inline constexpr uint32_t MPHI_CTRL_ENABLE = 1u << 31, MPHI_CTRL_REQ_SOFT_RST = 1u << 16;
inline constexpr uint32_t MPHI_CTRL_SOFT_RST_DNE = 1u << 17;
/// Kicks after which the IRQ side soft-resets the MPHI (its output FIFO fills up).
inline constexpr uint32_t MPHI_RESET_KICKS = 50;

/// struct fiq_state: what the FIQ and the IRQ share (the fields the model uses).
struct fiq_state {
    uint32_t dwc_regs_base = 0; ///< the core's registers
    uint32_t mphi_base = 0;     ///< mphi_regs.base
    uint32_t dummy_send = 0;    ///< DMA address of the dummy message the kick sends
    /// Sources the FIQ masked for the IRQ to handle: a 0 bit is pending for the IRQ.
    uint32_t gintmsk_saved = ~0u;
    uint32_t haintmsk_saved = 0x0000ffff; ///< the same for host channels (b2.chint)
    /// First (micro)frame the HCD's periodic schedule has work in (-1: none known).
    int32_t next_sched_frame = -1;
    bool kick_np_queues = false; ///< non-periodic work waits for the next SOF
    uint32_t mphi_int_count = 0; ///< kicks since the last MPHI soft reset
    uint64_t fiq_done = 0;       ///< FIQs taken
};

/// dwc_frame_num_le(): frame1 is at or before frame2, modulo the 14-bit counter.
bool dwc_frame_num_le(uint16_t frame1, uint16_t frame2);

/// fiq_fsm_do_sof(): the SOF part of the FIQ. True when the SOF needs no IRQ: no
/// non-periodic work is waiting and the periodic schedule has nothing due yet.
bool fiq_fsm_do_sof(fiq_state& state, unsigned num_channels, Bus& bus);

/// dwc_otg_fiq_fsm(): the FIQ's C function (FIQ mode, every interrupt masked). Reads
/// GINTSTS & GINTMSK through `bus`, acknowledges SOF, masks what it leaves to the IRQ
/// and kicks the IRQ through the MPHI when it left something or periodic work is due.
void dwc_otg_fiq_fsm(fiq_state& state, unsigned num_channels, Bus& bus);

} // namespace piemu::kernel::dwc_otg
