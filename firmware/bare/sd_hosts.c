/*
 * sd_hosts.c - polled SDHCI and SDHOST drivers and SD card initialisation (see
 * sd_hosts.h). Every wait is bounded, so a broken model ends in a printed error
 * instead of a hang.
 */
#include "sd_hosts.h"

#include "uart.h"

#define REG(base, off) (*(volatile uint32_t*)((base) + (off)))
#define SPIN_LIMIT 2000000u

/* ---- SDHCI (SD Host Controller Simplified Specification 3.00, section 2.2) ---- */

#define EMMC_BASE 0x3F300000u
#define EMMC_BLKSIZECNT 0x04u
#define EMMC_ARG1 0x08u
#define EMMC_CMDTM 0x0cu
#define EMMC_RESP(n) (0x10u + 4u * (n))
#define EMMC_DATA 0x20u
#define EMMC_STATUS 0x24u
#define EMMC_CONTROL0 0x28u
#define EMMC_CONTROL1 0x2cu
#define EMMC_INTERRUPT 0x30u
#define EMMC_IRPT_MASK 0x34u
#define EMMC_IRPT_EN 0x38u
#define EMMC_CAPS0 0x40u
#define EMMC_SLOTISR_VER 0xfcu

#define CMD_RESP_NONE 0x00000000u
#define CMD_RESP_136 0x00010000u
#define CMD_RESP_48 0x00020000u
#define CMD_RESP_48_BUSY 0x00030000u
#define CMD_DATA 0x00200000u
#define TM_BLKCNT_EN 0x00000002u
#define TM_AUTO_CMD12 0x00000004u
#define TM_READ 0x00000010u
#define TM_MULTI 0x00000020u

#define INT_CMD_DONE 0x00000001u
#define INT_DATA_DONE 0x00000002u
#define INT_WRITE_RDY 0x00000010u
#define INT_READ_RDY 0x00000020u
#define INT_ERR 0x00008000u

static uint32_t sdhci_error;

uint32_t sdhci_status(void) {
    return REG(EMMC_BASE, EMMC_STATUS);
}
uint32_t sdhci_version(void) {
    return REG(EMMC_BASE, EMMC_SLOTISR_VER);
}
uint32_t sdhci_capabilities(void) {
    return REG(EMMC_BASE, EMMC_CAPS0);
}
uint32_t sdhci_last_error(void) {
    return sdhci_error;
}

static int spin_until_clear(uint32_t off, uint32_t mask) {
    for (uint32_t i = 0; i < SPIN_LIMIT; ++i)
        if (!(REG(EMMC_BASE, off) & mask))
            return 0;
    return -1;
}

/* Waits for `mask` in INTERRUPT (then clears it) or an error (cleared, remembered,
 * and the CMD and DAT lines reset as the specification's error recovery asks). */
static int sdhci_wait(uint32_t mask) {
    for (uint32_t i = 0; i < SPIN_LIMIT; ++i) {
        uint32_t v = REG(EMMC_BASE, EMMC_INTERRUPT);
        if (v & INT_ERR) {
            sdhci_error = v;
            REG(EMMC_BASE, EMMC_INTERRUPT) = v;
            REG(EMMC_BASE, EMMC_CONTROL1) |= 0x06000000u;
            spin_until_clear(EMMC_CONTROL1, 0x06000000u);
            return -1;
        }
        if (v & mask) {
            REG(EMMC_BASE, EMMC_INTERRUPT) = v & mask;
            return 0;
        }
    }
    sdhci_error = 0xffffffffu;
    return -2;
}

static int sdhci_init(void) {
    REG(EMMC_BASE, EMMC_CONTROL1) = 0x01000000u; /* reset all */
    if (spin_until_clear(EMMC_CONTROL1, 0x07000000u))
        return -1;
    REG(EMMC_BASE, EMMC_CONTROL0) = 0x00000f00u; /* 3.3 V, SD bus power */
    REG(EMMC_BASE, EMMC_CONTROL1) = 0x000e8001u; /* timeout 14, divider 0x80, clock on */
    for (uint32_t i = 0; !(REG(EMMC_BASE, EMMC_CONTROL1) & 2u); ++i)
        if (i == SPIN_LIMIT)
            return -2;
    REG(EMMC_BASE, EMMC_CONTROL1) |= 4u; /* SD clock */
    REG(EMMC_BASE, EMMC_IRPT_MASK) = 0x017f0033u;
    REG(EMMC_BASE, EMMC_IRPT_EN) = 0;
    REG(EMMC_BASE, EMMC_INTERRUPT) = 0xffffffffu;
    return 0;
}

static int sdhci_send(unsigned index, uint32_t arg, uint32_t flags, uint32_t mode) {
    uint32_t inhibit = (flags & (CMD_DATA | CMD_RESP_48_BUSY)) ? 3u : 1u;
    if (spin_until_clear(EMMC_STATUS, inhibit))
        return -2;
    REG(EMMC_BASE, EMMC_INTERRUPT) = 0xffffffffu;
    REG(EMMC_BASE, EMMC_ARG1) = arg;
    REG(EMMC_BASE, EMMC_CMDTM) = (uint32_t)index << 24 | flags | mode;
    if (sdhci_wait(INT_CMD_DONE))
        return -1;
    if ((flags & CMD_RESP_48_BUSY) == CMD_RESP_48_BUSY && !(flags & CMD_DATA))
        return sdhci_wait(INT_DATA_DONE);
    return 0;
}

static int sdhci_cmd(unsigned index, uint32_t arg, enum sd_resp type, uint32_t resp[4]) {
    static const uint32_t flags[] = {CMD_RESP_NONE, CMD_RESP_48, CMD_RESP_48_BUSY, CMD_RESP_136};
    if (sdhci_send(index, arg, flags[type], 0))
        return -1;
    for (unsigned n = 0; n < 4; ++n)
        resp[n] = REG(EMMC_BASE, EMMC_RESP(n));
    return 0;
}

static uint32_t transfer_mode(unsigned count) {
    return count > 1 ? TM_MULTI | TM_BLKCNT_EN | TM_AUTO_CMD12 : 0;
}

static int sdhci_read(uint32_t block, unsigned count, uint32_t* buf) {
    REG(EMMC_BASE, EMMC_BLKSIZECNT) = (uint32_t)count << 16 | 512u;
    if (sdhci_send(count > 1 ? 18 : 17, block, CMD_RESP_48 | CMD_DATA,
                   TM_READ | transfer_mode(count)))
        return -1;
    for (unsigned b = 0; b < count; ++b) {
        if (sdhci_wait(INT_READ_RDY))
            return -2;
        for (unsigned w = 0; w < 128; ++w)
            *buf++ = REG(EMMC_BASE, EMMC_DATA);
    }
    return sdhci_wait(INT_DATA_DONE) ? -3 : 0;
}

static int sdhci_write(uint32_t block, unsigned count, const uint32_t* buf) {
    REG(EMMC_BASE, EMMC_BLKSIZECNT) = (uint32_t)count << 16 | 512u;
    if (sdhci_send(count > 1 ? 25 : 24, block, CMD_RESP_48 | CMD_DATA, transfer_mode(count)))
        return -1;
    for (unsigned b = 0; b < count; ++b) {
        if (sdhci_wait(INT_WRITE_RDY))
            return -2;
        for (unsigned w = 0; w < 128; ++w)
            REG(EMMC_BASE, EMMC_DATA) = *buf++;
    }
    return sdhci_wait(INT_DATA_DONE) ? -3 : 0;
}

const struct sd_host sd_sdhci = {"sdhci", sdhci_init, sdhci_cmd, sdhci_read, sdhci_write};

/* ---- SDHOST (Linux drivers/mmc/host/bcm2835.c register names) ---- */

#define SDHOST_BASE 0x3F202000u
#define SDCMD 0x00u
#define SDARG 0x04u
#define SDTOUT 0x08u
#define SDCDIV 0x0cu
#define SDRSP(n) (0x10u + 4u * (n))
#define SDHSTS 0x20u
#define SDVDD 0x30u
#define SDHCFG 0x38u
#define SDHBCT 0x3cu
#define SDDATA 0x40u
#define SDHBLC 0x50u

#define SDCMD_NEW 0x8000u
#define SDCMD_FAIL 0x4000u
#define SDCMD_BUSYWAIT 0x0800u
#define SDCMD_NO_RESP 0x0400u
#define SDCMD_LONG_RESP 0x0200u
#define SDCMD_WRITE 0x0080u
#define SDCMD_READ 0x0040u
#define SDHSTS_DATA 0x0001u

static int sdhost_wait_cmd(void) {
    for (uint32_t i = 0; i < SPIN_LIMIT; ++i) {
        uint32_t c = REG(SDHOST_BASE, SDCMD);
        if (!(c & SDCMD_NEW))
            return (c & SDCMD_FAIL) ? -1 : 0;
    }
    return -2;
}

static int sdhost_init(void) {
    REG(SDHOST_BASE, SDVDD) = 1;
    REG(SDHOST_BASE, SDTOUT) = 0x00f00000u;
    REG(SDHOST_BASE, SDCDIV) = 0x7ffu;
    REG(SDHOST_BASE, SDHSTS) = 0x7f8u;
    REG(SDHOST_BASE, SDHCFG) = 0x0au; /* SLOW_CARD | WIDE_INT_BUS, no interrupts */
    return 0;
}

static int sdhost_send(unsigned index, uint32_t arg, uint32_t flags) {
    if (sdhost_wait_cmd() == -2)
        return -2;
    REG(SDHOST_BASE, SDHSTS) = 0x7f8u;
    REG(SDHOST_BASE, SDARG) = arg;
    REG(SDHOST_BASE, SDCMD) = SDCMD_NEW | flags | index;
    return sdhost_wait_cmd();
}

static int sdhost_cmd(unsigned index, uint32_t arg, enum sd_resp type, uint32_t resp[4]) {
    static const uint32_t flags[] = {SDCMD_NO_RESP, 0, SDCMD_BUSYWAIT, SDCMD_LONG_RESP};
    if (sdhost_send(index, arg, flags[type]))
        return -1;
    uint32_t r[4];
    for (unsigned n = 0; n < 4; ++n)
        r[n] = REG(SDHOST_BASE, SDRSP(n));
    if (type == SD_RESP_136) { /* bits 127:0 with the CRC7 -> bits 127:8 */
        resp[0] = r[1] << 24 | r[0] >> 8;
        resp[1] = r[2] << 24 | r[1] >> 8;
        resp[2] = r[3] << 24 | r[2] >> 8;
        resp[3] = r[3] >> 8;
    } else {
        for (unsigned n = 0; n < 4; ++n)
            resp[n] = r[n];
    }
    return 0;
}

static int sdhost_wait_data(void) {
    for (uint32_t i = 0; i < SPIN_LIMIT; ++i)
        if (REG(SDHOST_BASE, SDHSTS) & SDHSTS_DATA)
            return 0;
    return -1;
}

static int sdhost_stop(unsigned count) {
    uint32_t resp[4];
    return count > 1 ? sdhost_cmd(12, 0, SD_RESP_48_BUSY, resp) : 0;
}

static int sdhost_read(uint32_t block, unsigned count, uint32_t* buf) {
    REG(SDHOST_BASE, SDHBCT) = 512u;
    REG(SDHOST_BASE, SDHBLC) = count;
    if (sdhost_send(count > 1 ? 18 : 17, block, SDCMD_READ))
        return -1;
    for (unsigned w = 0; w < 128u * count; ++w) {
        if (sdhost_wait_data())
            return -2;
        *buf++ = REG(SDHOST_BASE, SDDATA);
    }
    return sdhost_stop(count) ? -3 : 0;
}

static int sdhost_write(uint32_t block, unsigned count, const uint32_t* buf) {
    REG(SDHOST_BASE, SDHBCT) = 512u;
    REG(SDHOST_BASE, SDHBLC) = count;
    if (sdhost_send(count > 1 ? 25 : 24, block, SDCMD_WRITE))
        return -1;
    for (unsigned w = 0; w < 128u * count; ++w) {
        if (sdhost_wait_data())
            return -2;
        REG(SDHOST_BASE, SDDATA) = *buf++;
    }
    return sdhost_stop(count) ? -3 : 0;
}

const struct sd_host sd_sdhost = {"sdhost", sdhost_init, sdhost_cmd, sdhost_read, sdhost_write};

void sd_select_sdhost(void) {
    /* GPFSEL4 pins 48, 49 and GPFSEL5 pins 50-53: function ALT0 (4). */
    volatile uint32_t* gpfsel4 = (volatile uint32_t*)0x3F200010u;
    volatile uint32_t* gpfsel5 = (volatile uint32_t*)0x3F200014u;
    *gpfsel4 = (*gpfsel4 & ~(077u << 24)) | (044u << 24);
    *gpfsel5 = (*gpfsel5 & ~07777u) | 04444u;
}

/* ---- the card ---- */

uint32_t sd_bits(const uint32_t r[4], unsigned hi, unsigned lo) {
    uint32_t v = 0;
    for (unsigned n = hi + 1; n-- > lo;) {
        unsigned b = n - 8;
        v = v << 1 | ((r[b / 32] >> (b % 32)) & 1u);
    }
    return v;
}

int sd_card_init(const struct sd_host* host, struct sd_card* card, const char* tag) {
    uint32_t resp[4];
    int step = 0;
    if (host->init() || (++step, host->cmd(0, 0, SD_RESP_NONE, resp)))
        goto fail;
    ++step;
    if (host->cmd(8, 0x1aa, SD_RESP_48, resp) || resp[0] != 0x1aa)
        goto fail;
    ++step;
    card->ocr = 0;
    for (uint32_t i = 0; i < 100000u && !(card->ocr & 0x80000000u); ++i) {
        if (host->cmd(55, 0, SD_RESP_48, resp) || host->cmd(41, 0x40ff8000u, SD_RESP_48, resp))
            goto fail;
        card->ocr = resp[0];
    }
    if (!(card->ocr & 0x80000000u))
        goto fail;
    ++step;
    if (host->cmd(2, 0, SD_RESP_136, card->cid))
        goto fail;
    ++step;
    if (host->cmd(3, 0, SD_RESP_48, resp))
        goto fail;
    card->rca = resp[0] >> 16;
    ++step;
    if (host->cmd(9, card->rca << 16, SD_RESP_136, card->csd))
        goto fail;
    ++step;
    if (host->cmd(7, card->rca << 16, SD_RESP_48_BUSY, resp))
        goto fail;
    return 0;
fail:
    uart_printf("%s: card initialisation failed at step %d\n", tag, step);
    return -1 - step;
}
