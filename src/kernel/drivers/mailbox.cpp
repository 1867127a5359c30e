// bcm2835-mailbox (drivers/mailbox/bcm2835-mailbox.c) and raspberrypi-firmware
// (drivers/firmware/raspberrypi.c): the property channel a guest reaches through
// __NR_piemu_firmware_property. A transaction writes the buffer's bus address to
// mailbox 1 and sleeps; the VideoCore's answer arrives in mailbox 0 and raises the
// mailbox interrupt, whose handler reads it and wakes the caller.
#include <fmt/format.h>

#include "kernel/drivers/drivers.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

namespace {

// bcm2835-mailbox.c: mailbox 0 (VC to ARM) read, status, config; mailbox 1 write.
constexpr uint32_t MAIL0_RD = 0x00, MAIL0_STA = 0x18, MAIL0_CNF = 0x1c, MAIL1_WRT = 0x20;
constexpr uint32_t ARM_MS_EMPTY = 1u << 30, ARM_MC_IHAVEDATAIRQEN = 1u << 0;
// include/soc/bcm2835/raspberrypi-firmware.h
constexpr uint32_t RPI_FIRMWARE_CHAN = 8; // MBOX_CHAN_PROPERTY
constexpr uint32_t RPI_FIRMWARE_STATUS_REQUEST = 0, RPI_FIRMWARE_STATUS_SUCCESS = 0x80000000;
constexpr uint32_t RPI_FIRMWARE_PROPERTY_END = 0;
// The property buffer: in the drivers' DMA area, 16-byte aligned, at most 4 KiB.
constexpr uint32_t kFwBuf = PIEMU_KM_DRIVERS;
constexpr uint32_t kFwBufSize = 0x1000;
// The VideoCore sees SDRAM through the uncached alias (dma address = phys | 0xc0000000).
constexpr uint32_t kBusAlias = 0xc0000000;

} // namespace

void KernelModel::bcm2835_mbox_probe(const PlatformDevice& pd) {
    unsigned irq = platform_get_irq(pd, 0);
    if (!irq)
        return;
    drv_->mbox_base = pd.base;
    // devm_request_irq(dev, irq, bcm2835_mbox_irq, 0, dev_name(dev), mbox)
    irq_.request_irq(
        irq,
        irq_handler_t("bcm2835_mbox_irq", [this](unsigned, void*) { return bcm2835_mbox_irq(); }),
        0, pd.name, &drv_->mbox_base);
    // rpi_firmware_probe() binds channel 8: bcm2835_startup() enables the
    // data-available interrupt.
    writel(ARM_MC_IHAVEDATAIRQEN, drv_->mbox_base + MAIL0_CNF);
}

Task<irqreturn_t> KernelModel::bcm2835_mbox_irq() {
    // Every message waiting in mailbox 0 goes to the channel's client
    // (mbox_chan_received_data -> response_callback -> complete()).
    uint32_t base = drv_->mbox_base;
    while (!(readl(base + MAIL0_STA) & ARM_MS_EMPTY)) {
        uint32_t msg = readl(base + MAIL0_RD);
        if ((msg & 0xf) != RPI_FIRMWARE_CHAN)
            continue;
        drv_->fw_reply = msg;
        if (drv_->fw_waiter)
            wake_up_process(drv_->fw_waiter);
    }
    co_return IRQ_HANDLED;
}

Task<int> KernelModel::rpi_firmware_property(unsigned cpu, uint32_t tag, uint32_t buf,
                                             uint32_t len) {
    if (!drv_->mbox_base)
        co_return -ENODEV;
    if (len > kFwBufSize - 6 * 4 || len % 4)
        co_return -EINVAL;
    // transaction_lock: one transaction at a time.
    task_struct* self = current_[cpu];
    if (drv_->fw_busy) {
        drv_->fw_queue.push_back(self);
        co_await wait_event_timeout(
            cpu, [this] { return !drv_->fw_busy; }, ~uint64_t(0) / 2, "rpi_firmware_transaction");
        std::erase(drv_->fw_queue, self);
    }
    drv_->fw_busy = true;
    cpu = self->cpu; // it may have moved while it waited
    // rpi_firmware_property(): header, one tag (id, value size, request code 0 and
    // the value), the end tag.
    uint32_t total = 5 * 4 + len + 4;
    wr32(kFwBuf + 0, total);
    wr32(kFwBuf + 4, RPI_FIRMWARE_STATUS_REQUEST);
    wr32(kFwBuf + 8, tag);
    wr32(kFwBuf + 12, len);
    wr32(kFwBuf + 16, 0);
    for (uint32_t i = 0; i < len; i += 4)
        wr32(kFwBuf + 20 + i, rd32(buf + i));
    wr32(kFwBuf + 20 + len, RPI_FIRMWARE_PROPERTY_END);

    // rpi_firmware_transaction(): send, then wait_for_completion_timeout(HZ).
    drv_->fw_reply.reset();
    drv_->fw_waiter = self;
    writel((kBusAlias | kFwBuf) | RPI_FIRMWARE_CHAN, drv_->mbox_base + MAIL1_WRT);
    bool answered = co_await wait_event_timeout(
        cpu, [this] { return drv_->fw_reply.has_value(); }, cfg_.hz, "rpi_firmware_transaction");
    drv_->fw_waiter = nullptr;
    int ret = 0;
    if (!answered) {
        log_.printk(KERN_ERR, "raspberrypi-firmware soc:firmware: Firmware transaction timeout\n");
        ret = -ETIMEDOUT;
    } else if (uint32_t status = rd32(kFwBuf + 4); status != RPI_FIRMWARE_STATUS_SUCCESS) {
        log_.printk(KERN_ERR,
                    "raspberrypi-firmware soc:firmware: Request 0x%08x returned status 0x%08x\n",
                    tag, status);
        ret = -EINVAL;
    } else {
        for (uint32_t i = 0; i < len; i += 4)
            wr32(buf + i, rd32(kFwBuf + 20 + i));
        // The tag's response code: bit 31 | the value length the firmware has (which
        // may exceed the buffer); an unknown tag is left unanswered.
        uint32_t code = rd32(kFwBuf + 16);
        ret = (code & 0x80000000u) ? int(code & 0x7fffffffu) : -EOPNOTSUPP;
    }
    drv_->fw_busy = false;
    if (!drv_->fw_queue.empty())
        wake_up_process(drv_->fw_queue.front());
    co_return ret;
}

} // namespace piemu::kernel
