// Raspbian's dwc_otg FSM FIQ, as far as the kernel model's HCD uses it. See
// dwc_otg_fiq_fsm.hpp for the scheme.
#include "kernel/drivers/dwc_otg_fiq_fsm.hpp"

#include "piemu/bus.hpp"

namespace piemu::kernel::dwc_otg {

namespace {

uint32_t fiq_read(Bus& bus, uint32_t addr) {
    return bus.mmio_read(addr, 4);
}

void fiq_write(Bus& bus, uint32_t addr, uint32_t value) {
    bus.mmio_write(addr, value, 4);
}

} // namespace

bool dwc_frame_num_le(uint16_t frame1, uint16_t frame2) {
    return ((frame2 - frame1) & HFNUM_MAX_FRNUM) <= (HFNUM_MAX_FRNUM >> 1);
}

bool fiq_fsm_do_sof(fiq_state& state, unsigned num_channels, Bus& bus) {
    uint32_t hfnum = fiq_read(bus, state.dwc_regs_base + HFNUM);
    auto frnum = uint16_t(hfnum & HFNUM_MAX_FRNUM);
    // NOTE: the per-channel split-transaction states that the SOF advances (stale
    // complete-splits booted out at microframe 1, queued start-splits started, ...)
    // are empty: the model's HCD never hands a channel to the FIQ.
    (void)num_channels;
    bool kick_irq =
        state.kick_np_queues || dwc_frame_num_le(uint16_t(state.next_sched_frame), frnum);
    return !kick_irq;
}

void dwc_otg_fiq_fsm(fiq_state& state, unsigned num_channels, Bus& bus) {
    const uint32_t base = state.dwc_regs_base;
    uint32_t gintsts = fiq_read(bus, base + GINTSTS);
    uint32_t gintmsk = fiq_read(bus, base + GINTMSK);
    gintsts &= gintmsk;
    uint32_t gintsts_handled = 0;
    bool kick_irq = false;

    if (gintsts & GINTSTS_SOF) {
        // The FSM needs every SOF: it is never masked. When the schedule has work due
        // the SOF becomes the IRQ's (gintmsk_saved) and the IRQ is kicked. Until the
        // IRQ has run and reset gintmsk_saved, later SOFs find GINTMSK differing from
        // the saved mask below and send the message again; the MPHI interrupt is a
        // level, so that is still one IRQ.
        if (!fiq_fsm_do_sof(state, num_channels, bus)) {
            if (state.gintmsk_saved & GINTSTS_SOF)
                kick_irq = true;
            state.gintmsk_saved &= ~GINTSTS_SOF;
        }
        gintsts_handled |= GINTSTS_SOF;
    }
    // NOTE: a host channel interrupt (HChInt) would go to fiq_fsm_do_hcintr() here; no
    // channel is ever unmasked in HAINTMSK by the model's HCD, so it cannot be pending,
    // and were it, it would be passed on below like any source the FIQ does not own.

    // What was triggered and not handled is the IRQ's: clear it in the saved mask...
    state.gintmsk_saved &= ~(gintsts & ~gintsts_handled);
    // ...and, when that changes the mask, in GINTMSK too (SOF stays unmasked).
    if (gintmsk != (gintmsk & state.gintmsk_saved)) {
        gintmsk &= state.gintmsk_saved;
        gintmsk |= GINTSTS_SOF;
        fiq_write(bus, base + GINTMSK, gintmsk);
        kick_irq = true;
    }
    // Only the edge-triggered (latched) bits are acknowledged here.
    if (gintsts_handled)
        fiq_write(bus, base + GINTSTS, gintsts_handled);

    if (kick_irq) {
        // The kick: a dummy message out of the MPHI with its end-of-transfer interrupt.
        state.mphi_int_count++;
        fiq_write(bus, state.mphi_base + MPHI_OUTDDA, state.dummy_send);
        fiq_write(bus, state.mphi_base + MPHI_OUTDDB, MPHI_OUTDDB_TENDINT);
    }
    state.fiq_done++;
}

} // namespace piemu::kernel::dwc_otg
