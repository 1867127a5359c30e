// The kernel model's built-in platform drivers: the state they keep between probe,
// their interrupt handlers and the process-context calls guests make through them.
// Each driver registers its interrupts the way Raspbian's 4.14 driver does (names,
// flags, handler symbols), so /proc/interrupts and the traces read as on a Pi; what a
// driver does with its device is the part of the Linux driver that a guest can reach
// (mailbox property calls, SD block reads, the USB host's frame interrupts).
//
// The drivers are KernelModel member functions (drivers/*.cpp) because they sleep and
// wake tasks; this header holds their state.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kernel/drivers/dwc_otg_fiq_fsm.hpp"
#include "kernel/kernel_model.hpp"

namespace piemu::kernel {

/// One SD/MMC host and the card behind it (drivers/mmc/host/bcm2835-sdhost.c or
/// bcm2835-mmc.c, and the core's view of the card).
struct MmcHost {
    MmcKind kind = MmcKind::Sdhost;
    unsigned index = 0; ///< mmcN
    uint32_t base = 0;
    unsigned irq = 0;
    int dma_chan = -1;          ///< the "rx-tx" DMA channel it was given
    bool card_probed = false;   ///< mmc_rescan() ran
    bool card_present = false;  ///< a card answered the identification
    bool high_capacity = false; ///< OCR.CCS: block addressing
    uint32_t rca = 0;
    std::array<uint32_t, 4> cid{}; ///< R2 response, bits 127:0 (word 0 = bits 31:0)
    uint64_t capacity = 0;         ///< bytes
    // The transfer in flight (PIO): where the IRQ handler puts the data.
    uint32_t buf = 0;              ///< guest buffer
    uint32_t words_left = 0;       ///< 32-bit words still to move
    uint32_t blocks_left = 0;      ///< blocks not yet signalled
    int error = 0;                 ///< -errno of the transfer
    task_struct* waiter = nullptr; ///< the task sleeping until the transfer ends
    bool done = false;
    bool thread_pending = false; ///< sdhci: the thread has work (card events, finish)
};

/// The dmaengine side of bcm2835-dma: a channel and who asked for it.
struct DmaChan {
    unsigned chan = 0;
    unsigned irq = 0;
    std::string client;
};

/// Raspbian's dwc_otg host controller driver (dwc_otg_hcd_t and the core_if bits the
/// model keeps), with the one periodic QH of its schedule (drivers/dwc_otg.cpp).
struct DwcOtgHcd {
    uint32_t base = 0;       ///< the core's registers
    bool fiq_enable = false; ///< the FIQ owns the core's interrupt (FIQ-shaped DT node)
    dwc_otg::fiq_state fiq;  ///< shared with the FIQ (hcd->fiq_state)
    int pcd = 0;             ///< the PCD's dev_id: the gadget side keeps no state here
    uint32_t frame_number = 0;
    bool periodic_qh = false;         ///< the periodic schedule holds its QH
    uint16_t qh_sched_frame = 0;      ///< the (micro)frame the QH is due in next
    bool port_connect_change = false; ///< flags.b.port_connect_status_change
    uint64_t sof_intrs = 0;           ///< SOFs the HCD's IRQ handler processed
    uint64_t int_done = 0;            ///< IRQs that acknowledged the MPHI
};

struct DriverState {
    // bcm2835-mailbox + raspberrypi-firmware
    uint32_t mbox_base = 0;
    bool fw_busy = false;               ///< a property transaction is in flight
    std::vector<task_struct*> fw_queue; ///< callers waiting for the channel
    task_struct* fw_waiter = nullptr;   ///< the caller waiting for the reply
    std::optional<uint32_t> fw_reply;   ///< the channel-8 message received
    uint32_t vchiq_base = 0;            ///< VCHIQ doorbells (BELL0)
    // bcm2835-dma
    uint32_t dma_base = 0;
    uint32_t dma_mask = 0;          ///< brcm,dma-channel-mask
    std::vector<unsigned> dma_irqs; ///< Linux IRQ of each channel's interrupt
    std::vector<DmaChan> dma_chans; ///< allocated, in order
    unsigned fb_dma_chan = 0;
    // bcm2835 aux
    uint32_t aux_base = 0;
    // dwc_otg
    DwcOtgHcd usb;
    // SD/MMC hosts, in probe order (mmc0, mmc1)
    std::vector<MmcHost> mmc;
};

} // namespace piemu::kernel
