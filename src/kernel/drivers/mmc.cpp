// The SD hosts' drivers and the part of the MMC core a block read needs: Raspbian
// 4.14's bcm2835-sdhost (mmc0: commands polled, PIO data by the "mmc0" interrupt) and
// bcm2835-mmc on the Arasan SDHCI (mmc1: commands and data by the "mmc1" interrupt,
// card events handed to its IRQ thread "irq/92-mmc1"), the SD identification sequence
// (mmc_rescan: CMD0, CMD8, ACMD41, CMD2, CMD3, CMD9, CMD7, ACMD6) and single/multiple
// block reads for __NR_piemu_mmc_read.
//
// NOTE: Linux runs mmc_rescan from a workqueue at boot; the kernel model identifies
// the card on the first read instead, so runs that never touch the card see no SD
// traffic. Neither driver uses DMA here (both fall back to PIO, as Linux's do for
// short transfers); their DMA channels are requested so /proc/interrupts lists them.
#include <fmt/format.h>

#include "kernel/drivers/drivers.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/clock.hpp"
#include "piemu/guest_abi.h"

namespace piemu::kernel {

namespace {

// bcm2835-sdhost.c
constexpr uint32_t SDCMD = 0x00, SDARG = 0x04, SDCDIV = 0x0c, SDRSP0 = 0x10, SDHSTS = 0x20,
                   SDVDD = 0x30, SDHCFG = 0x38, SDHBCT = 0x3c, SDDATA = 0x40, SDHBLC = 0x50;
constexpr uint32_t SDCMD_NEW_FLAG = 0x8000, SDCMD_FAIL_FLAG = 0x4000, SDCMD_BUSYWAIT = 0x800,
                   SDCMD_NO_RESPONSE = 0x400, SDCMD_LONG_RESPONSE = 0x200, SDCMD_READ_CMD = 0x40;
constexpr uint32_t SDHSTS_DATA_FLAG = 0x01, SDHSTS_ERROR_MASK = 0xf8, SDHSTS_CLEAR_MASK = 0x7f8,
                   SDHSTS_BUSY_IRPT = 0x400;
constexpr uint32_t SDHCFG_WIDE_INT_BUS = 0x2, SDHCFG_SLOW_CARD = 0x8,
                   SDHCFG_DATA_IRPT_EN = 0x10, SDHCFG_BUSY_IRPT_EN = 0x400;
// SD Host Controller Simplified Specification 3.00 (Linux drivers/mmc/host/sdhci.h)
constexpr uint32_t SDHCI_BLOCK_SIZE = 0x04, SDHCI_ARGUMENT = 0x08, SDHCI_TRANSFER_MODE = 0x0c,
                   SDHCI_RESPONSE = 0x10, SDHCI_BUFFER = 0x20, SDHCI_PRESENT_STATE = 0x24,
                   SDHCI_HOST_CONTROL = 0x28, SDHCI_CLOCK_CONTROL = 0x2c, SDHCI_INT_STATUS = 0x30,
                   SDHCI_INT_ENABLE = 0x34, SDHCI_SIGNAL_ENABLE = 0x38;
constexpr uint32_t SDHCI_CARD_PRESENT = 1u << 16;
constexpr uint32_t SDHCI_INT_RESPONSE = 1u << 0, SDHCI_INT_DATA_END = 1u << 1,
                   SDHCI_INT_DATA_AVAIL = 1u << 5, SDHCI_INT_CARD_INSERT = 1u << 6,
                   SDHCI_INT_CARD_REMOVE = 1u << 7, SDHCI_INT_ERROR_MASK = 0xffff8000u;
constexpr uint32_t SDHCI_CMD_RESP_NONE = 0, SDHCI_CMD_RESP_LONG = 1, SDHCI_CMD_RESP_SHORT = 2,
                   SDHCI_CMD_RESP_SHORT_BUSY = 3, SDHCI_CMD_CRC = 0x08, SDHCI_CMD_INDEX = 0x10,
                   SDHCI_CMD_DATA = 0x20;
constexpr uint32_t SDHCI_TRNS_BLK_CNT_EN = 0x02, SDHCI_TRNS_ACMD12 = 0x04, SDHCI_TRNS_READ = 0x10,
                   SDHCI_TRNS_MULTI = 0x20;
constexpr uint32_t SDHCI_RESET_ALL = 1u << 24, SDHCI_CLOCK_INT_EN = 1, SDHCI_CLOCK_INT_STABLE = 2,
                   SDHCI_CLOCK_CARD_EN = 4;

constexpr uint32_t kBlock = 512;

/// The card's name and size as mmc_blk prints them: CID PNM, string_get_size(STRING_UNITS_2).
std::string size_string(uint64_t bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    uint64_t whole = bytes, rem = 0;
    while (whole >= 1024 && u + 1 < std::size(units)) {
        rem = whole % 1024;
        whole /= 1024;
        ++u;
    }
    // Three significant digits, truncated, as lib/string_helpers.c does.
    if (whole >= 100 || u == 0)
        return fmt::format("{} {}", whole, units[u]);
    unsigned frac = unsigned(rem * (whole >= 10 ? 10 : 100) / 1024);
    return whole >= 10 ? fmt::format("{}.{} {}", whole, frac, units[u])
                       : fmt::format("{}.{:02} {}", whole, frac, units[u]);
}

} // namespace

void KernelModel::udelay(uint32_t us) {
    // The CPU spins: virtual time passes and the devices' events run.
    VirtualClock& clock = *cfg_.clock;
    clock.set_now(clock.now() + clock.ticks_to_cycles(us, 1'000'000));
    clock.run_due();
}

void KernelModel::mmc_probe(const PlatformDevice& pd, MmcKind kind) {
    unsigned irq = platform_get_irq(pd, 0);
    if (!irq)
        return;
    MmcHost h;
    h.kind = kind;
    h.index = unsigned(drv_->mmc.size());
    h.base = pd.base;
    h.irq = irq;
    drv_->mmc.push_back(h);
    std::string name = fmt::format("mmc{}", h.index);
    void* dev = reinterpret_cast<void*>(uintptr_t(h.index + 1));
    if (kind == MmcKind::Sdhost) {
        // bcm2835_sdhost_probe(): "rx-tx" DMA, then request_irq(.., 0, mmc_hostname).
        drv_->mmc.back().dma_chan = dma_request_chan(pd.name + " rx-tx");
        writel(1, pd.base + SDVDD); // bcm2835_sdhost_init(): power on
        writel(SDHCFG_WIDE_INT_BUS | SDHCFG_SLOW_CARD | SDHCFG_BUSY_IRPT_EN, pd.base + SDHCFG);
        writel(0x1fb, pd.base + SDCDIV); // the 400 kHz identification clock divider
        irq_.request_irq(
            irq,
            irq_handler_t("bcm2835_sdhost_irq",
                          [this, i = h.index](unsigned, void*) { return bcm2835_sdhost_irq(i); }),
            0, name, dev);
        return;
    }
    // bcm2835_mmc_probe(): DMA channel, controller reset and clocks, then
    // devm_request_threaded_irq(.., IRQF_SHARED, mmc_hostname(mmc), host).
    drv_->mmc.back().dma_chan = dma_request_chan(pd.name + " rx-tx");
    uint32_t b = pd.base;
    writel(SDHCI_RESET_ALL, b + SDHCI_CLOCK_CONTROL);
    for (int i = 0; i < 100 && (readl(b + SDHCI_CLOCK_CONTROL) & SDHCI_RESET_ALL); ++i)
        udelay(10);
    writel(0x0f00, b + SDHCI_HOST_CONTROL); // bus power on at 3.3 V
    writel(SDHCI_CLOCK_INT_EN | (0x80u << 8), b + SDHCI_CLOCK_CONTROL);
    for (int i = 0; i < 100 && !(readl(b + SDHCI_CLOCK_CONTROL) & SDHCI_CLOCK_INT_STABLE); ++i)
        udelay(10);
    writel(readl(b + SDHCI_CLOCK_CONTROL) | SDHCI_CLOCK_CARD_EN, b + SDHCI_CLOCK_CONTROL);
    uint32_t ints = SDHCI_INT_RESPONSE | SDHCI_INT_DATA_END | SDHCI_INT_DATA_AVAIL |
                    SDHCI_INT_CARD_INSERT | SDHCI_INT_CARD_REMOVE | SDHCI_INT_ERROR_MASK;
    writel(ints, b + SDHCI_INT_ENABLE);
    writel(ints, b + SDHCI_SIGNAL_ENABLE);
    irq_.request_threaded_irq(
        irq,
        irq_handler_t("bcm2835_mmc_irq",
                      [this, i = h.index](unsigned, void*) { return bcm2835_mmc_irq(i); }),
        irq_handler_t("bcm2835_mmc_thread_irq",
                      [this, i = h.index](unsigned, void*) -> Task<irqreturn_t> {
                          // Card insertion/removal: the core rescans on next use.
                          MmcHost& host = drv_->mmc[i];
                          host.thread_pending = false;
                          host.card_probed = false;
                          co_return IRQ_HANDLED;
                      }),
        IRQF_SHARED, name, dev);
}

// ---- bcm2835-sdhost ------------------------------------------------------------------

Task<irqreturn_t> KernelModel::bcm2835_sdhost_irq(unsigned index) {
    MmcHost& h = drv_->mmc[index];
    uint32_t status = readl(h.base + SDHSTS);
    if (!(status & (SDHSTS_DATA_FLAG | SDHSTS_CLEAR_MASK)))
        co_return IRQ_NONE;
    writel(status & SDHSTS_CLEAR_MASK, h.base + SDHSTS);
    uint32_t hcfg = readl(h.base + SDHCFG);
    if (status & SDHSTS_ERROR_MASK)
        h.error = -EIO;
    // bcm2835_sdhost_transfer_pio(): drain the FIFO while it has data.
    while (!h.error && h.words_left && (hcfg & SDHCFG_DATA_IRPT_EN) &&
           (readl(h.base + SDHSTS) & SDHSTS_DATA_FLAG)) {
        wr32(h.buf, readl(h.base + SDDATA));
        h.buf += 4;
        --h.words_left;
    }
    if ((h.error || !h.words_left) && !h.done && h.waiter) {
        writel(hcfg & ~SDHCFG_DATA_IRPT_EN, h.base + SDHCFG);
        h.done = true;
        wake_up_process(h.waiter);
    }
    co_return IRQ_HANDLED;
}

// ---- bcm2835-mmc (SDHCI) -------------------------------------------------------------

Task<irqreturn_t> KernelModel::bcm2835_mmc_irq(unsigned index) {
    MmcHost& h = drv_->mmc[index];
    uint32_t intmask = readl(h.base + SDHCI_INT_STATUS);
    if (!intmask || intmask == 0xffffffffu)
        co_return IRQ_NONE;
    writel(intmask, h.base + SDHCI_INT_STATUS);
    irqreturn_t ret = IRQ_HANDLED;
    if (intmask & (SDHCI_INT_CARD_INSERT | SDHCI_INT_CARD_REMOVE)) {
        h.thread_pending = true;
        ret = IRQ_WAKE_THREAD;
    }
    if (intmask & SDHCI_INT_ERROR_MASK)
        h.error = -EIO;
    if (intmask & SDHCI_INT_DATA_AVAIL) // bcm2835_mmc_read_block_pio(): one block
        for (uint32_t i = 0; i < kBlock / 4 && h.words_left; ++i, --h.words_left, h.buf += 4)
            wr32(h.buf, readl(h.base + SDHCI_BUFFER));
    bool finished =
        (intmask & SDHCI_INT_ERROR_MASK) ||
        (h.blocks_left ? (intmask & SDHCI_INT_DATA_END) != 0 : (intmask & SDHCI_INT_RESPONSE) != 0);
    if (finished && !h.done && h.waiter) {
        h.done = true;
        wake_up_process(h.waiter);
    }
    co_return ret;
}

// ---- the MMC core ----------------------------------------------------------------

Task<int> KernelModel::mmc_cmd(unsigned cpu, MmcHost& h, unsigned opcode, uint32_t arg,
                               MmcResp resp_kind, std::array<uint32_t, 4>* resp, uint32_t blocks) {
    cpu = irq_.smp_processor_id(); // the caller's may have moved since it read its CPU
    h.error = 0;
    h.done = false;
    h.blocks_left = blocks;
    if (h.kind == MmcKind::Sdhost) {
        // bcm2835_sdhost_send_command() / finish_command(): the command is polled.
        uint32_t flags = resp_kind == MmcResp::None   ? SDCMD_NO_RESPONSE
                         : resp_kind == MmcResp::Long ? SDCMD_LONG_RESPONSE
                         : resp_kind == MmcResp::Busy ? SDCMD_BUSYWAIT
                                                      : 0;
        if (blocks) {
            flags |= SDCMD_READ_CMD;
            writel(kBlock, h.base + SDHBCT);
            writel(blocks, h.base + SDHBLC);
            writel(readl(h.base + SDHCFG) | SDHCFG_DATA_IRPT_EN, h.base + SDHCFG);
            h.words_left = blocks * kBlock / 4;
            h.waiter = current_[cpu];
        }
        writel(arg, h.base + SDARG);
        writel((opcode & 0x3f) | flags | SDCMD_NEW_FLAG, h.base + SDCMD);
        uint32_t cmd = 0;
        for (int i = 0; i < 1000; ++i) {
            cmd = readl(h.base + SDCMD);
            if (!(cmd & SDCMD_NEW_FLAG))
                break;
            udelay(1);
        }
        uint32_t sts = readl(h.base + SDHSTS);
        if (cmd & (SDCMD_NEW_FLAG | SDCMD_FAIL_FLAG)) {
            writel(sts & SDHSTS_CLEAR_MASK, h.base + SDHSTS);
            writel(readl(h.base + SDHCFG) & ~SDHCFG_DATA_IRPT_EN, h.base + SDHCFG);
            h.waiter = nullptr;
            co_return -ETIMEDOUT;
        }
        if (resp)
            for (unsigned i = 0; i < 4; ++i)
                (*resp)[i] = readl(h.base + SDRSP0 + 4 * i);
        if (resp_kind == MmcResp::Busy)
            writel(SDHSTS_BUSY_IRPT, h.base + SDHSTS);
    } else {
        // sdhci_send_command(): transfer mode and command in one 32-bit write (the
        // BCM2835's EMMC block takes 32-bit accesses only).
        uint32_t flags = resp_kind == MmcResp::None   ? SDHCI_CMD_RESP_NONE
                         : resp_kind == MmcResp::Long ? SDHCI_CMD_RESP_LONG | SDHCI_CMD_CRC
                         : resp_kind == MmcResp::Busy
                             ? SDHCI_CMD_RESP_SHORT_BUSY | SDHCI_CMD_CRC | SDHCI_CMD_INDEX
                         : resp_kind == MmcResp::ShortNoCrc
                             ? SDHCI_CMD_RESP_SHORT
                             : SDHCI_CMD_RESP_SHORT | SDHCI_CMD_CRC | SDHCI_CMD_INDEX;
        uint32_t mode = 0;
        if (blocks) {
            flags |= SDHCI_CMD_DATA;
            mode = SDHCI_TRNS_READ | SDHCI_TRNS_BLK_CNT_EN;
            if (blocks > 1)
                mode |= SDHCI_TRNS_MULTI | SDHCI_TRNS_ACMD12;
            writel(kBlock | (blocks << 16), h.base + SDHCI_BLOCK_SIZE);
            h.words_left = blocks * kBlock / 4;
        }
        h.waiter = current_[cpu];
        writel(arg, h.base + SDHCI_ARGUMENT);
        writel(mode | (((opcode & 0x3f) << 8 | flags) << 16), h.base + SDHCI_TRANSFER_MODE);
        bool ok = co_await wait_event_timeout(
            cpu, [&h] { return h.done; }, cfg_.hz, "mmc_wait_for_req");
        if (!ok || h.error) {
            h.waiter = nullptr;
            co_return ok ? h.error : -ETIMEDOUT;
        }
        if (resp)
            for (unsigned i = 0; i < 4; ++i)
                (*resp)[i] = readl(h.base + SDHCI_RESPONSE + 4 * i);
        if (resp && resp_kind == MmcResp::Long) {
            // SDHCI drops the CRC byte: bits 127:8 arrive in 119:0.
            auto& r = *resp;
            r = {r[0] << 8, (r[1] << 8) | (r[0] >> 24), (r[2] << 8) | (r[1] >> 24),
                 (r[3] << 8) | (r[2] >> 24)};
        }
        h.waiter = nullptr;
        co_return 0;
    }
    if (!blocks)
        co_return 0;
    bool ok = co_await wait_event_timeout(
        cpu, [&h] { return h.done; }, cfg_.hz, "mmc_wait_for_req");
    h.waiter = nullptr;
    co_return ok ? h.error : -ETIMEDOUT;
}

Task<int> KernelModel::mmc_rescan(unsigned cpu, MmcHost& h) {
    // mmc_rescan() -> mmc_attach_sd(): identification at 400 kHz, then transfer mode.
    h.card_probed = true;
    h.card_present = false;
    std::array<uint32_t, 4> r{};
    std::string host = fmt::format("mmc{}", h.index);
    co_await mmc_cmd(cpu, h, 0, 0, MmcResp::None, nullptr);                // GO_IDLE_STATE
    bool v2 = co_await mmc_cmd(cpu, h, 8, 0x1aa, MmcResp::Short, &r) == 0; // SEND_IF_COND
    uint32_t ocr = 0;
    for (int i = 0; i < 100; ++i) {
        if (int e = co_await mmc_cmd(cpu, h, 55, 0, MmcResp::Short, &r))
            co_return e == -ETIMEDOUT ? -ENOMEDIUM : e;
        // SD_APP_OP_COND: 3.2-3.4 V, HCS when the card speaks v2.
        if (int e = co_await mmc_cmd(cpu, h, 41, 0x00300000u | (v2 ? 0x40000000u : 0),
                                     MmcResp::ShortNoCrc, &r))
            co_return e;
        ocr = r[0];
        if (ocr & 0x80000000u)
            break;
        udelay(1000);
    }
    if (!(ocr & 0x80000000u))
        co_return -ETIMEDOUT;
    h.high_capacity = (ocr & 0x40000000u) != 0;
    if (int e = co_await mmc_cmd(cpu, h, 2, 0, MmcResp::Long, &r)) // ALL_SEND_CID
        co_return e;
    h.cid = r;
    if (int e = co_await mmc_cmd(cpu, h, 3, 0, MmcResp::Short, &r)) // SEND_RELATIVE_ADDR
        co_return e;
    h.rca = r[0] >> 16;
    if (int e = co_await mmc_cmd(cpu, h, 9, h.rca << 16, MmcResp::Long, &r)) // SEND_CSD
        co_return e;
    if ((r[3] >> 30) == 1) { // CSD v2: C_SIZE [69:48], (C_SIZE + 1) * 512 KiB
        uint64_t c_size = ((r[2] & 0x3f) << 16) | (r[1] >> 16);
        h.capacity = (c_size + 1) * 512 * 1024;
    } else { // CSD v1: (C_SIZE + 1) << (C_SIZE_MULT + 2) blocks of 1 << READ_BL_LEN
        uint64_t read_bl_len = (r[2] >> 16) & 0xf;
        uint64_t c_size = ((r[2] & 0x3ff) << 2) | (r[1] >> 30);
        uint64_t mult = (r[1] >> 15) & 0x7;
        h.capacity = ((c_size + 1) << (mult + 2)) << read_bl_len;
    }
    if (int e = co_await mmc_cmd(cpu, h, 7, h.rca << 16, MmcResp::Busy, &r)) // SELECT_CARD
        co_return e;
    if (!h.high_capacity) // SET_BLOCKLEN
        if (int e = co_await mmc_cmd(cpu, h, 16, kBlock, MmcResp::Short, &r))
            co_return e;
    h.card_present = true;
    log_.printk(KERN_INFO, "%s: new %scard at address %04x\n", host.c_str(),
                h.high_capacity ? "SDHC " : "SD ", h.rca);
    // CID: PNM is bits 103:64 (five ASCII characters).
    std::string pnm;
    uint64_t hi = (uint64_t(h.cid[3]) << 32) | h.cid[2];
    for (int shift = 32; shift >= 0; shift -= 8)
        pnm.push_back(char((hi >> shift) & 0xff));
    log_.printk(KERN_INFO, "mmcblk%u: %s:%04x %s %s\n", h.index, host.c_str(), h.rca, pnm.c_str(),
                size_string(h.capacity).c_str());
    co_return 0;
}

Task<int> KernelModel::mmc_read(unsigned cpu, unsigned index, uint32_t lba, uint32_t count,
                                uint32_t buf) {
    if (index >= drv_->mmc.size())
        co_return -ENODEV;
    if (!count || count > 128 || !writable(buf, count * kBlock))
        co_return count ? -EFAULT : -EINVAL;
    MmcHost& h = drv_->mmc[index];
    if (h.kind == MmcKind::Sdhci && !(readl(h.base + SDHCI_PRESENT_STATE) & SDHCI_CARD_PRESENT))
        co_return -ENOMEDIUM;
    if (!h.card_probed)
        if (int e = co_await mmc_rescan(cpu, h))
            co_return e;
    if (!h.card_present)
        co_return -ENOMEDIUM;
    if (uint64_t(lba + count) * kBlock > h.capacity)
        co_return -EINVAL;
    h.buf = buf;
    uint32_t arg = h.high_capacity ? lba : lba * kBlock;
    // READ_SINGLE_BLOCK or READ_MULTIPLE_BLOCK (the SDHCI stops it with auto-CMD12;
    // the SD host driver sends STOP_TRANSMISSION itself).
    int e = co_await mmc_cmd(cpu, h, count == 1 ? 17 : 18, arg, MmcResp::Short, nullptr, count);
    if (count > 1 && h.kind == MmcKind::Sdhost)
        co_await mmc_cmd(cpu, h, 12, 0, MmcResp::Busy, nullptr);
    co_return e ? e : int(count * kBlock);
}

} // namespace piemu::kernel
