// The platform bus of the kernel model: the devices piemu's board builder made from
// the device tree, bound to the built-in drivers in Raspbian 4.14's initcall order,
// and the small drivers that only register and acknowledge their interrupt (DMA
// channels, the AUX demultiplexer, the VCHIQ doorbell). dwc_otg is in dwc_otg.cpp.
#include <algorithm>

#include <fmt/format.h>

#include "kernel/drivers/drivers.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/bus.hpp"

namespace piemu::kernel {

namespace {

// BCM2835 DMA channel registers (datasheet 4.2.1; Linux drivers/dma/bcm2835-dma.c).
constexpr uint32_t DMA_CS = 0x00, DMA_INT = 1u << 2;
constexpr uint32_t DMA_CHAN_SIZE = 0x100;
// AUX (BCM2835 ARM Peripherals 2.1): AUX_IRQ bit 0 = mini UART; AU_MU_IIR_REG.
constexpr uint32_t AUX_IRQ = 0x00, AUX_MU_IO = 0x40, AUX_MU_IIR = 0x48, AUX_MU_LSR = 0x54;
// VCHIQ doorbells (vchiq_2835_arm.c): BELL0 is the ARM's, bit 2 "doorbell rung".
constexpr uint32_t BELL0 = 0x00;

bool has(const PlatformDevice& pd, std::string_view compatible) {
    return std::find(pd.compatible.begin(), pd.compatible.end(), compatible) != pd.compatible.end();
}

} // namespace

unsigned KernelModel::platform_get_irq(const PlatformDevice& pd, unsigned index) const {
    // irq_of_parse_and_map(): the specifier through the controller's domain.
    if (index >= pd.irqs.size())
        return 0;
    const PlatformDevice::Irq& i = pd.irqs[index];
    if ((i.controller == "brcm,bcm2836-armctrl-ic" || i.controller == "brcm,bcm2835-armctrl-ic") &&
        i.cells.size() == 2)
        return chip_.armctrl_irq(i.cells[0], i.cells[1]);
    if (i.controller == "brcm,bcm2836-l1-intc" && !i.cells.empty())
        return chip_.local_irq(i.cells[0]);
    return 0;
}

uint32_t KernelModel::readl(uint32_t addr) const {
    return cfg_.bus->mmio_read(addr, 4);
}

void KernelModel::writel(uint32_t value, uint32_t addr) {
    cfg_.bus->mmio_write(addr, value, 4);
}

void KernelModel::probe_drivers() {
    drv_ = std::make_unique<DriverState>();
    auto find = [this](std::initializer_list<std::string_view> compatibles) {
        std::vector<const PlatformDevice*> out;
        for (const PlatformDevice& pd : cfg_.devices)
            for (std::string_view c : compatibles)
                if (has(pd, c)) {
                    out.push_back(&pd);
                    break;
                }
        return out;
    };
    // The initcall order of Raspbian 4.14's drivers: the mailbox (and the firmware
    // driver on it) and the DMA controller at subsys level, then the device drivers.
    for (const PlatformDevice* pd : find({"brcm,bcm2835-mbox"}))
        bcm2835_mbox_probe(*pd);
    for (const PlatformDevice* pd : find({"brcm,bcm2835-dma"}))
        bcm2835_dma_probe(*pd);
    for (const PlatformDevice* pd : find({"brcm,bcm2835-aux-uart"}))
        bcm2835_aux_probe(*pd);
    for (const PlatformDevice* pd : find({"brcm,bcm2835-vchiq"}))
        vchiq_probe(*pd);
    for (const PlatformDevice* pd : find({"brcm,bcm2708-usb", "brcm,bcm2835-usb"}))
        dwc_otg_probe(*pd);
    for (const PlatformDevice* pd : find({"brcm,bcm2835-sdhost"}))
        mmc_probe(*pd, MmcKind::Sdhost);
    for (const PlatformDevice* pd : find({"brcm,bcm2835-sdhci"}))
        mmc_probe(*pd, MmcKind::Sdhci);
}

// ---- bcm2835-dma (drivers/dma/bcm2835-dma.c) and bcm2708_fb's channel ----------

void KernelModel::bcm2835_dma_probe(const PlatformDevice& pd) {
    drv_->dma_base = pd.base;
    drv_->dma_mask = pd.dma_channel_mask;
    for (unsigned i = 0; i < pd.irqs.size(); ++i)
        drv_->dma_irqs.push_back(platform_get_irq(pd, i));
    // bcm2708_fb takes channel 0 through the legacy bcm_dma_chan_alloc() API (outside
    // the dmaengine mask) and requests its interrupt under its own name.
    if (!drv_->dma_irqs.empty() && drv_->dma_irqs[0]) {
        drv_->fb_dma_chan = 0;
        irq_.request_irq(drv_->dma_irqs[0],
                         irq_handler_t("bcm2708_fb_dma_irq",
                                       [this](unsigned, void*) -> Task<irqreturn_t> {
                                           uint32_t cs = drv_->dma_base + DMA_CS;
                                           writel(DMA_INT, cs);
                                           co_return IRQ_HANDLED;
                                       }),
                         0, "bcm2708_fb dma", &drv_->fb_dma_chan);
    }
    // The dmaengine clients the reference's four "DMA IRQ" rows stand for, in probe
    // order. NOTE: the source notes do not say who owns the first two (channels 2
    // and 4, never active there); the model gives them to an idle I2S tx/rx pair so
    // the SD hosts get channels 5 and 8, the two the reference shows busy.
    dma_request_chan("i2s tx");
    dma_request_chan("i2s rx");
}

int KernelModel::dma_request_chan(std::string client) {
    // bcm2835_dma_alloc_chan_resources(): the first free channel of the mask, and its
    // interrupt requested then ("DMA IRQ"; channels 11-14 share one line).
    for (unsigned ch = 1; ch < drv_->dma_irqs.size() && ch < 32; ++ch) {
        if (!(drv_->dma_mask & (1u << ch)))
            continue;
        if (std::any_of(drv_->dma_chans.begin(), drv_->dma_chans.end(),
                        [ch](const DmaChan& c) { return c.chan == ch; }))
            continue;
        unsigned irq = drv_->dma_irqs[ch];
        if (!irq)
            return -1;
        drv_->dma_chans.push_back({ch, irq, std::move(client)});
        DmaChan* c = &drv_->dma_chans.back();
        unsigned long flags = ch >= 11 ? IRQF_SHARED : 0;
        uint32_t cs = drv_->dma_base + ch * DMA_CHAN_SIZE + DMA_CS;
        irq_.request_irq(irq,
                         irq_handler_t("bcm2835_dma_callback",
                                       [this, cs, flags](unsigned, void*) -> Task<irqreturn_t> {
                                           if ((flags & IRQF_SHARED) && !(readl(cs) & DMA_INT))
                                               co_return IRQ_NONE;
                                           writel(DMA_INT, cs);
                                           co_return IRQ_HANDLED;
                                       }),
                         flags, "DMA IRQ", c);
        return int(ch);
    }
    return -1;
}

// ---- AUX: the mini UART's interrupt (8250_bcm2835aux behind the AUX demux) --------

void KernelModel::bcm2835_aux_probe(const PlatformDevice& pd) {
    unsigned irq = platform_get_irq(pd, 0);
    if (!irq)
        return;
    drv_->aux_base = pd.base & ~0xffu; // the mini UART at +0x40 of the AUX block
    irq_.request_irq(irq,
                     irq_handler_t("bcm2835_aux_irq_handler",
                                   [this](unsigned, void*) -> Task<irqreturn_t> {
                                       uint32_t base = drv_->aux_base;
                                       if (!(readl(base + AUX_IRQ) & 1u))
                                           co_return IRQ_NONE;
                                       // serial8250_handle_irq(): IIR bit 0 clear means
                                       // pending; drain RX into the tty.
                                       while (!(readl(base + AUX_MU_IIR) & 1u) &&
                                              (readl(base + AUX_MU_LSR) & 1u))
                                           aux_rx_.push_back(char(readl(base + AUX_MU_IO)));
                                       co_return IRQ_HANDLED;
                                   }),
                     0, "bcm2835-auxirq", &drv_->aux_base);
}

// ---- VCHIQ doorbell (vchiq_2835_arm.c vchiq_platform_init) -----------------------

void KernelModel::vchiq_probe(const PlatformDevice& pd) {
    unsigned irq = platform_get_irq(pd, 0);
    if (!irq)
        return;
    drv_->vchiq_base = pd.base;
    irq_.request_irq(irq,
                     irq_handler_t("vchiq_doorbell_irq",
                                   [this](unsigned, void*) -> Task<irqreturn_t> {
                                       // Reading BELL0 clears it; bit 2: it was rung.
                                       uint32_t status = readl(drv_->vchiq_base + BELL0);
                                       co_return (status & 4u) ? IRQ_HANDLED : IRQ_NONE;
                                   }),
                     IRQF_IRQPOLL, "VCHIQ doorbell", &drv_->vchiq_base);
}

} // namespace piemu::kernel
