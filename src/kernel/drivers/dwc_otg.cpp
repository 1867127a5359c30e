// Raspbian 4.14's dwc_otg USB host driver (drivers/usb/host/dwc_otg) and the bits of the
// USB core and hub driver it needs: probe, the FIQ (dwc_otg_fiq_fsm.cpp) and the three
// shared handlers of its IRQ, the root port's connection and reset.
//
// On the Raspbian-shaped DT node (raspi3b: interrupts <2 0> MPHI, <1 9> core; a second
// reg window for the MPHI) the driver runs as on a Pi: the FIQ owns the core's
// interrupt and raises IRQ 62 through the MPHI for what it leaves to the IRQ. At boot
// it brings the core up (soft reset, host mode, the FIFOs, the channels halted, port
// power, the interrupt masks, GAHBCFG's global enable); the port's connection reaches
// the IRQ, which queues the hub driver's work; the kworker resets the port ("Indeed it
// is in host mode hprt0 = ..."), after which the controller sends a SOF every 125 us.
//
// The HCD's periodic schedule holds one QH, due every 1 ms frame. It stands for the
// interrupt endpoints of the LAN9514 behind the port, which piemu does not model (no
// enumeration, no transfers: a channel's transaction would only fail). Why every
// frame: the reference's IRQ 62 counts 1355025 against 129951 arch_timer ticks on CPU0
// at HZ=100, 10.4 per tick, about 1000 per second, i.e. Raspbian's HCD has periodic
// work due in every frame. So the FIQ kicks the IRQ at the first SOF of each frame
// (HFNUM's microframe bits 0) and lets the other seven SOFs pass, and IRQ 62 runs
// dwc_otg (IRQ_NONE), dwc_otg_pcd (IRQ_NONE) and dwc_otg_hcd:usb1 (IRQ_HANDLED) about
// once per millisecond of virtual time.
//
// Not modelled: the driver's delays at boot (the kernel model probes before any CPU
// runs: 10 us and 1 us polls around the soft reset, dwc_mdelay(100) after it), the root
// hub's 250 ms status polling and the hub's connect debounce (the port interrupt queues
// the hub work at once), enumeration and transfers, device mode (the PCD registers its
// handler and never finds anything of its own: the port is a host port).
//
// The mainline-shaped node (raspi2b: one interrupt, the core's) gets the three
// handlers on that line and nothing else: nothing starts the port there.
#include <fmt/format.h>

#include "kernel/drivers/drivers.hpp"
#include "kernel/kernel_model.hpp"
#include "kernel/vector_page.hpp"
#include "piemu/bus.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

using namespace dwc_otg;

namespace {

// GAHBCFG (dwc_otg_regs.h): GlblIntrMsk [0], HBstLen [4:1] (INCR4 = 3), DMAEnable [5].
constexpr uint32_t GAHBCFG_GLBLINTRMSK = 1u << 0, GAHBCFG_HBSTLEN_INCR4 = 3u << 1;
constexpr uint32_t GAHBCFG_DMAENABLE = 1u << 5;
// GRSTCTL: CSftRst [0], RxFFlsh [4], TxFFlsh [5], TxFNum [10:6], AHBIdle [31].
constexpr uint32_t GRSTCTL_CSFTRST = 1u << 0, GRSTCTL_RXFFLSH = 1u << 4;
constexpr uint32_t GRSTCTL_TXFFLSH = 1u << 5, GRSTCTL_AHBIDLE = 1u << 31;
constexpr unsigned GRSTCTL_TXFNUM_SHIFT = 6;
// GHWCFG2: DynFifoSizing [19], NumHstChnl [17:14] (channels - 1).
constexpr uint32_t GHWCFG2_DYNFIFO = 1u << 19;
// HCCHAR: EPDir [15], ChDis [30], ChEna [31].
constexpr uint32_t HCCHAR_EPDIR = 1u << 15, HCCHAR_CHDIS = 1u << 30, HCCHAR_CHEN = 1u << 31;
// HPRT0: the port (write-1-to-clear: ConnDet, Ena (disables), EnChng, OvrCurrChng).
constexpr uint32_t HPRT0_CONNSTS = 1u << 0, HPRT0_CONNDET = 1u << 1, HPRT0_ENA = 1u << 2;
constexpr uint32_t HPRT0_ENCHNG = 1u << 3, HPRT0_OVRCURRCHNG = 1u << 5;
constexpr uint32_t HPRT0_SUSP = 1u << 7, HPRT0_RST = 1u << 8, HPRT0_PWR = 1u << 12;
constexpr uint32_t HPRT0_W1C = HPRT0_CONNDET | HPRT0_ENA | HPRT0_ENCHNG | HPRT0_OVRCURRCHNG;
/// dwc_otg_read_common_intr()'s mask: the interrupts of either mode.
constexpr uint32_t GINTMSK_COMMON = GINTSTS_WKUPINT | GINTSTS_SESSREQINT | GINTSTS_CONIDSTSCHNG |
                                    GINTSTS_OTGINT | GINTSTS_MODEMIS | GINTSTS_DISCONNINT |
                                    GINTSTS_USBSUSP | GINTSTS_RESTOREDONE;
// Raspbian's FIFO parameters (dwc_otg_driver.c: host_rx_fifo_size 774,
// host_nperio_tx_fifo_size 256, host_perio_tx_fifo_size 512), in 32-bit words.
constexpr uint32_t kRxFifo = 774, kNperioTxFifo = 256, kPerioTxFifo = 512;

// The driver's memory in the kernel model's RAM (after the firmware driver's buffer).
constexpr uint32_t kFiqState = PIEMU_KM_DRIVERS + 0x2000;  ///< r8: struct fiq_state slot
constexpr uint32_t kDummySend = PIEMU_KM_DRIVERS + 0x2100; ///< the kick's 16-byte message
/// struct fiq_stack { int magic1; uint8_t stack[2048]; int magic2; }
constexpr uint32_t kFiqStack = PIEMU_KM_DRIVERS + 0x2200, kFiqStackSize = 2056;
constexpr uint32_t kHubWork = PIEMU_KM_DRIVERS + 0x2c00; ///< hub_wq's struct work_struct

/// The (micro)frame after `frame` that starts a 1 ms frame (microframe bits 0).
uint16_t next_frame_start(uint32_t frame) {
    return uint16_t(((frame | 7u) + 1) & HFNUM_MAX_FRNUM);
}

} // namespace

// ---- probe ----------------------------------------------------------------------

void KernelModel::dwc_otg_probe(const PlatformDevice& pd) {
    // dwc_otg_driver_probe(). With the FIQ (Raspbian's default fiq_enable=1,
    // fiq_fsm_enable=1) the node lists the MPHI interrupt first and the core's second,
    // and the MPHI's registers as its second reg entry: the FIQ takes the core's line
    // and the three drivers share the MPHI one.
    unsigned irq = platform_get_irq(pd, 0);
    if (!irq)
        return;
    DwcOtgHcd& hcd = drv_->usb;
    hcd.base = pd.base;
    hcd.fiq_enable = pd.irqs.size() >= 2 && pd.regs.size() >= 2 && pd.regs[1];
    if (hcd.fiq_enable) {
        // dwc_otg_cil_init(): a "OT" 2.xx core; then dwc_otg_disable_global_interrupts().
        uint32_t snpsid = readl(hcd.base + GSNPSID);
        if ((snpsid & 0xfffff000u) != 0x4f542000u) {
            log_.printk(KERN_ERR, "Bad value for SNPSID: 0x%08x\n", snpsid);
            return;
        }
        writel(readl(hcd.base + GAHBCFG) & ~GAHBCFG_GLBLINTRMSK, hcd.base + GAHBCFG);
    }
    irq_.request_irq(irq,
                     irq_handler_t("dwc_otg_common_irq",
                                   [this](unsigned, void*) { return dwc_otg_common_irq(); }),
                     IRQF_SHARED, "dwc_otg", &drv_->usb);
    if (hcd.fiq_enable)
        dwc_otg_core_init();
    // pcd_init(): the gadget side. In host mode no interrupt is the PCD's.
    irq_.request_irq(irq,
                     irq_handler_t("dwc_otg_pcd_irq",
                                   [this](unsigned, void*) -> Task<irqreturn_t> {
                                       // dwc_otg_pcd_handle_intr(): device mode only.
                                       bool device_mode = !(readl(drv_->usb.base + GINTSTS) &
                                                            GINTSTS_CURMODE_HOST);
                                       co_return device_mode ? IRQ_HANDLED : IRQ_NONE;
                                   }),
                     IRQF_SHARED, "dwc_otg_pcd", &hcd.pcd);
    // hcd_init(): the FIQ first, then usb_add_hcd() requests "<driver>:usb<busnum>"
    // and starts the HCD (hcd_start -> dwc_otg_hcd_reinit -> dwc_otg_core_host_init).
    if (hcd.fiq_enable)
        hcd_init_fiq(pd);
    irq_.request_irq(
        irq, irq_handler_t("usb_hcd_irq", [this](unsigned, void*) { return dwc_otg_hcd_irq(); }),
        IRQF_SHARED, "dwc_otg_hcd:usb1", &hcd.fiq);
    if (hcd.fiq_enable) {
        dwc_otg_core_host_init();
        writel(readl(hcd.base + GAHBCFG) | GAHBCFG_GLBLINTRMSK, hcd.base + GAHBCFG);
    }
}

void KernelModel::dwc_otg_core_init() {
    const uint32_t b = drv_->usb.base;
    // dwc_otg_core_reset(): AHB master idle, then the core soft reset.
    for (int i = 0; i < 100000 && !(readl(b + GRSTCTL) & GRSTCTL_AHBIDLE); ++i)
        ;
    writel(GRSTCTL_CSFTRST, b + GRSTCTL);
    for (int i = 0; i < 10000 && (readl(b + GRSTCTL) & GRSTCTL_CSFTRST); ++i)
        ;
    // The internal DMA (Buffer DMA mode), INCR4 bursts; the global enable stays off.
    writel(GAHBCFG_HBSTLEN_INCR4 | GAHBCFG_DMAENABLE, b + GAHBCFG);
    // dwc_otg_enable_common_interrupts() (DMA mode: no RxFLvl).
    writel(~0u, b + GOTGINT);
    writel(~0u, b + GINTSTS);
    writel(GINTSTS_MODEMIS | GINTSTS_OTGINT | GINTSTS_CONIDSTSCHNG | GINTSTS_WKUPINT |
               GINTSTS_USBSUSP | GINTSTS_SESSREQINT,
           b + GINTMSK);
    // The host mode check: CurMod (the Pi's ID pin makes the core an A-device, a host).
    if (!(readl(b + GINTSTS) & GINTSTS_CURMODE_HOST))
        log_.printk(KERN_WARNING, "dwc_otg: the core is not in host mode\n");
}

void KernelModel::hcd_init_fiq(const PlatformDevice& pd) {
    DwcOtgHcd& hcd = drv_->usb;
    // smp_call_function_single(num_online_cpus() > 1 ? 1 : 0, hcd_init_fiq): the FIQ
    // runs on core 1 when there is one (enable_fiq() routes it there too).
    unsigned online = 0;
    for (unsigned c = 0; c < irq_.nr_cpu_ids(); ++c)
        online += irq_.cpu_online(c) ? 1 : 0;
    unsigned cpu = online > 1 ? 1 : 0;
    irq_.claim_fiq("usb_fiq");
    uint32_t stub = vector_page_symbol("_dwc_otg_fiq_stub");
    set_fiq_handler(stub, vector_page_symbol("_dwc_otg_fiq_stub_end") - stub, "_dwc_otg_fiq_stub");
    uint32_t channels = ((readl(hcd.base + GHWCFG2) >> 14) & 0xf) + 1;
    set_fiq_regs(cpu, FiqRegs{.r8 = kFiqState,
                              .r9 = channels,
                              .fp = vector_page_symbol("dwc_otg_fiq_fsm"),
                              .sp = kFiqStack + kFiqStackSize - 4});
    hcd.fiq.dwc_regs_base = hcd.base;
    hcd.fiq.mphi_base = pd.regs[1];
    hcd.fiq.dummy_send = kDummySend;
    writel(MPHI_CTRL_ENABLE, hcd.fiq.mphi_base + MPHI_CTRL);
    // enable_fiq(): the core's line (the node's second interrupt) selected as the FIQ.
    // local_fiq_enable() is a no-op here: the kernel model runs with FIQs on.
    chip_.enable_fiq(platform_get_irq(pd, 1));
}

void KernelModel::dwc_otg_core_host_init() {
    const uint32_t b = drv_->usb.base;
    writel(0, b + PCGCCTL);                  // restart the PHY clock
    writel(readl(b + HCFG) & ~3u, b + HCFG); // FSLSPclkSel: the 30/60 MHz UTMI+ PHY
    uint32_t hwcfg2 = readl(b + GHWCFG2);
    if (hwcfg2 & GHWCFG2_DYNFIFO) {
        writel(kRxFifo, b + GRXFSIZ);
        writel((kNperioTxFifo << 16) | kRxFifo, b + GNPTXFSIZ);
        writel((kPerioTxFifo << 16) | (kRxFifo + kNperioTxFifo), b + HPTXFSIZ);
    }
    // Every TxFIFO (TxFNum 0x10), then the RxFIFO, flushed.
    writel(GRSTCTL_TXFFLSH | (0x10u << GRSTCTL_TXFNUM_SHIFT), b + GRSTCTL);
    for (int i = 0; i < 10000 && (readl(b + GRSTCTL) & GRSTCTL_TXFFLSH); ++i)
        ;
    writel(GRSTCTL_RXFFLSH, b + GRSTCTL);
    for (int i = 0; i < 10000 && (readl(b + GRSTCTL) & GRSTCTL_RXFFLSH); ++i)
        ;
    // Flush out leftover queued requests, then halt every channel into a known state.
    unsigned channels = ((hwcfg2 >> 14) & 0xf) + 1;
    for (unsigned n = 0; n < channels; ++n) {
        uint32_t hcchar = b + HC_START + n * HC_OFFSET + HCCHAR;
        writel((readl(hcchar) & ~(HCCHAR_CHEN | HCCHAR_EPDIR)) | HCCHAR_CHDIS, hcchar);
    }
    for (unsigned n = 0; n < channels; ++n) {
        uint32_t hcchar = b + HC_START + n * HC_OFFSET + HCCHAR;
        writel((readl(hcchar) & ~HCCHAR_EPDIR) | HCCHAR_CHEN | HCCHAR_CHDIS, hcchar);
        for (int i = 0; i < 1000 && (readl(hcchar) & HCCHAR_CHEN); ++i)
            ;
    }
    // Turn on the vbus power (op_state A_HOST): the LAN9514 connects.
    uint32_t hprt0 = readl(b + HPRT0) & ~HPRT0_W1C; // dwc_otg_read_hprt0()
    if (!(hprt0 & HPRT0_PWR))
        writel(hprt0 | HPRT0_PWR, b + HPRT0);
    // dwc_otg_enable_host_interrupts(): the common ones again, then the host's. SOF is
    // unmasked when the periodic schedule gets its first QH (dwc_otg_hcd_qh_add).
    writel(0, b + GINTMSK);
    writel(~0u, b + GINTSTS);
    writel(~0u, b + GOTGINT);
    writel(~0u, b + GINTSTS);
    writel(GINTSTS_MODEMIS | GINTSTS_OTGINT | GINTSTS_CONIDSTSCHNG | GINTSTS_WKUPINT |
               GINTSTS_USBSUSP | GINTSTS_SESSREQINT,
           b + GINTMSK);
    writel(readl(b + GINTMSK) | GINTSTS_DISCONNINT | GINTSTS_PRTINT | GINTSTS_HCHINT, b + GINTMSK);
    // hub_wq's work for the root hub (hub_event, run by the kworker).
    wr32(kHubWork + WORK_DATA, 0);
    wr32(kHubWork + WORK_ENTRY, kHubWork + WORK_ENTRY); // an empty list_head
    wr32(kHubWork + WORK_ENTRY + 4, kHubWork + WORK_ENTRY);
    wr32(kHubWork + WORK_FUNC, vector_page_symbol("hub_event"));
}

// ---- the FIQ ----------------------------------------------------------------------

void KernelModel::dwc_otg_fiq(unsigned num_channels) {
    dwc_otg_fiq_fsm(drv_->usb.fiq, num_channels, *cfg_.bus);
}

// ---- IRQ 62: dwc_otg, dwc_otg_pcd, dwc_otg_hcd:usb1 -------------------------------

Task<irqreturn_t> KernelModel::dwc_otg_common_irq() {
    // dwc_otg_handle_common_intr() -> dwc_otg_read_common_intr(): the common sources,
    // counting those the FIQ masked for the IRQ as enabled.
    DwcOtgHcd& hcd = drv_->usb;
    uint32_t gintsts = readl(hcd.base + GINTSTS);
    uint32_t gintmsk = readl(hcd.base + GINTMSK);
    if (hcd.fiq_enable)
        gintmsk |= ~hcd.fiq.gintmsk_saved | GINTMSK_COMMON;
    uint32_t mine = gintsts & gintmsk & GINTMSK_COMMON;
    // NOTE: none of them occurs with the port powered and the core a host; were one
    // pending, it would be acknowledged (W1C) and the mask given back.
    if (!mine)
        co_return IRQ_NONE;
    writel(mine, hcd.base + GINTSTS);
    if (hcd.fiq_enable)
        writel(gintmsk, hcd.base + GINTMSK);
    co_return IRQ_HANDLED;
}

Task<irqreturn_t> KernelModel::dwc_otg_hcd_irq() {
    // usb_hcd_irq() -> dwc_otg_hcd_irq() -> dwc_otg_hcd_handle_intr().
    DwcOtgHcd& hcd = drv_->usb;
    const uint32_t b = hcd.base;
    uint32_t gintsts = readl(b + GINTSTS);
    uint32_t gintmsk = readl(b + GINTMSK);
    int retval = 0;
    if (gintsts & GINTSTS_CURMODE_HOST) {
        if (hcd.fiq_enable) {
            // local_fiq_disable() and the FIQ's lock: nothing to do, the C++ runs with
            // the core stopped. Pull in the bits the FIQ masked for us.
            gintmsk |= ~hcd.fiq.gintmsk_saved;
            hcd.fiq.gintmsk_saved = ~0u;
            if (0x0000ffffu & ~hcd.fiq.haintmsk_saved)
                gintsts |= GINTSTS_HCHINT;
            // "fake a SOF if necessary": the saved mask was just reset, so always.
            if (hcd.fiq.gintmsk_saved & GINTSTS_SOF)
                gintsts |= GINTSTS_SOF;
        }
        gintsts &= gintmsk;
        if (gintsts & GINTSTS_SOF)
            retval |= dwc_otg_hcd_handle_sof_intr();
        if (gintsts & GINTSTS_PRTINT) {
            retval |= dwc_otg_hcd_handle_port_intr();
            writel(readl(b + GINTMSK) | GINTSTS_PRTINT, b + GINTMSK);
        }
        // NOTE: HChInt needs no handler: the model's HCD never starts a channel.
    }
    if (hcd.fiq_enable) {
        // exit_handler_routine: unless the FIQ sneaked another interrupt in, the MPHI
        // interrupt is acknowledged (and the MPHI soft-reset every 50 kicks); the
        // interrupts the FIQ masked the first time round are unmasked again.
        fiq_state& st = hcd.fiq;
        if (st.gintmsk_saved == ~0u && st.haintmsk_saved == 0x0000ffffu) {
            writel(MPHI_INTSTAT_TXEND, st.mphi_base + MPHI_INTSTAT);
            if (st.mphi_int_count >= MPHI_RESET_KICKS) {
                writel(MPHI_CTRL_ENABLE | MPHI_CTRL_REQ_SOFT_RST, st.mphi_base + MPHI_CTRL);
                for (int i = 0;
                     i < 1000 && !(readl(st.mphi_base + MPHI_CTRL) & MPHI_CTRL_SOFT_RST_DNE); ++i)
                    ;
                writel(MPHI_CTRL_ENABLE, st.mphi_base + MPHI_CTRL);
                st.mphi_int_count = 0;
            }
            hcd.int_done++;
        }
        writel(gintmsk, b + GINTMSK);
    }
    co_return retval ? IRQ_HANDLED : IRQ_NONE;
}

int KernelModel::dwc_otg_hcd_handle_sof_intr() {
    // The periodic schedule: its QH, when due in this (micro)frame, would have its
    // transaction queued now (not modelled: nothing answers behind the port) and is
    // due again at the start of the next frame. next_sched_frame tells the FIQ when
    // to kick next.
    DwcOtgHcd& hcd = drv_->usb;
    hcd.frame_number = readl(hcd.base + HFNUM) & HFNUM_MAX_FRNUM;
    int32_t next_sched_frame = -1;
    if (hcd.periodic_qh) {
        if (dwc_frame_num_le(hcd.qh_sched_frame, uint16_t(hcd.frame_number)))
            hcd.qh_sched_frame = next_frame_start(hcd.frame_number);
        next_sched_frame = hcd.qh_sched_frame;
    }
    if (hcd.fiq_enable)
        hcd.fiq.next_sched_frame = next_sched_frame;
    else
        writel(GINTSTS_SOF, hcd.base + GINTSTS); // with the FIQ, the FIQ's to clear
    hcd.sof_intrs++;
    return 1;
}

int KernelModel::dwc_otg_hcd_handle_port_intr() {
    const uint32_t b = drv_->usb.base;
    uint32_t hprt0 = readl(b + HPRT0);
    uint32_t modify = hprt0 & ~HPRT0_W1C;
    int retval = 0;
    if (hprt0 & HPRT0_CONNDET) {
        // The hub driver resets the port when it sees the connect status change;
        // usb_hcd_poll_rh_status() hands it to hub_wq.
        drv_->usb.port_connect_change = true;
        modify |= HPRT0_CONNDET;
        queue_work(kHubWork);
        retval = 1;
    }
    if (hprt0 & HPRT0_ENCHNG) {
        // Enabled after the reset (a high-speed port: no PHY clock change), or disabled.
        modify |= HPRT0_ENCHNG;
        retval = 1;
    }
    if (hprt0 & HPRT0_OVRCURRCHNG) {
        modify |= HPRT0_OVRCURRCHNG;
        retval = 1;
    }
    writel(modify, b + HPRT0);
    return retval;
}

void KernelModel::dwc_otg_hcd_qh_add() {
    // The first periodic QH unmasks SOF (the FIQ's lock held: nothing to do here). It
    // is due at the start of the next frame.
    DwcOtgHcd& hcd = drv_->usb;
    hcd.qh_sched_frame = next_frame_start(readl(hcd.base + HFNUM) & HFNUM_MAX_FRNUM);
    if (!hcd.periodic_qh)
        writel(readl(hcd.base + GINTMSK) | GINTSTS_SOF, hcd.base + GINTMSK);
    hcd.periodic_qh = true;
}

// ---- hub_wq -----------------------------------------------------------------------

Task<void> KernelModel::hub_event(unsigned cpu) {
    // hub_event() -> port_event() for the root hub's port 1: a connection is reset
    // (hub_port_init -> hub_port_reset -> SetPortFeature(USB_PORT_FEAT_RESET), which
    // dwc_otg_hcd_hub_control() does on HPRT0).
    DwcOtgHcd& hcd = drv_->usb;
    const uint32_t b = hcd.base;
    if (!std::exchange(hcd.port_connect_change, false))
        co_return;
    uint32_t hprt0 = readl(b + HPRT0) & ~HPRT0_W1C;
    if (!(hprt0 & HPRT0_CONNSTS))
        co_return; // a disconnection: nothing to enumerate
    hprt0 &= ~HPRT0_SUSP;
    hprt0 |= HPRT0_PWR | HPRT0_RST;
    log_.printk(KERN_DEFAULT, "Indeed it is in host mode hprt0 = %08x\n", hprt0);
    writel(hprt0, b + HPRT0);
    // "Clear reset bit in 10ms (FS/LS) or 50ms (HS)": dwc_mdelay(60). The driver spins
    // with interrupts on; the kernel model cannot spin a task in C++ without holding
    // them off, so the kworker sleeps instead (msleep: until the 7th tick).
    co_await sys_msleep(cpu, 60);
    hprt0 &= ~HPRT0_RST;
    writel(hprt0, b + HPRT0);
    // The port is enabled at high speed; the hub driver would now address and
    // configure the LAN9514 (not modelled) and its interrupt endpoints would be
    // scheduled: the periodic QH.
    if (readl(b + HPRT0) & HPRT0_ENA)
        dwc_otg_hcd_qh_add();
}

} // namespace piemu::kernel
