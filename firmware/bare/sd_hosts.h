/*
 * sd_hosts.h - polled bare-metal drivers for the two SD hosts of the BCM2835/6/7 and
 * the card protocol on top of them, for the sdhci, sdhost and sd_integrity images.
 *
 * SDHCI: the Arasan EMMC at 0x3F300000, programmed with 32-bit accesses only (BCM2835
 * ARM Peripherals chapter 5), PIO through DATA. SDHOST: the Broadcom host at
 * 0x3F202000, programmed as Linux's bcm2835.c does (SDHBCT and SDHBLC before SDCMD,
 * SDDATA while SDHSTS.DATA_FLAG is set). QEMU puts its card on the SDHCI unless GPIO
 * 48-53 are all switched to ALT0 (hw/gpio/bcm2835_gpio.c), which sd_select_sdhost()
 * does; piemu has no GPIO model and takes the host from --sd-host.
 */
#ifndef PIEMU_FW_SD_HOSTS_H
#define PIEMU_FW_SD_HOSTS_H

#include <stdint.h>

enum sd_resp { SD_RESP_NONE, SD_RESP_48, SD_RESP_48_BUSY, SD_RESP_136 };

struct sd_host {
    const char* name;
    /// Resets the controller and starts its clock; 0 on success.
    int (*init)(void);
    /// Sends command `index`; 0 on success, -1 on a command error. `resp` gets the
    /// response: R1/R3/R6/R7 in resp[0]; R2 as bits 127:8 in resp[3..0] (CRC dropped).
    int (*cmd)(unsigned index, uint32_t arg, enum sd_resp type, uint32_t resp[4]);
    /// Reads (CMD17/18) or writes (CMD24/25) `count` 512-byte blocks from block
    /// `block`; multi-block transfers end with CMD12. 0 on success.
    int (*read)(uint32_t block, unsigned count, uint32_t* buf);
    int (*write)(uint32_t block, unsigned count, const uint32_t* buf);
};

extern const struct sd_host sd_sdhci;
extern const struct sd_host sd_sdhost;

/// QEMU: moves the card to the SDHOST (GPIO 48-53 to ALT0). No effect on piemu.
void sd_select_sdhost(void);
/// SDHCI present state (STATUS), SLOTISR_VER and capabilities, for transcripts.
uint32_t sdhci_status(void);
uint32_t sdhci_version(void);
uint32_t sdhci_capabilities(void);
/// The last SDHCI INTERRUPT value a failed command left (its error bits).
uint32_t sdhci_last_error(void);

/// The card's identity after sd_card_init().
struct sd_card {
    uint32_t ocr;
    uint32_t rca;
    uint32_t cid[4]; /* bits 127:8 in cid[3..0] */
    uint32_t csd[4];
};

/// CMD0, CMD8, ACMD41 until ready, CMD2, CMD3, CMD9, CMD7. 0 on success; on failure
/// a negative step number, printed with `tag`.
int sd_card_init(const struct sd_host* host, struct sd_card* card, const char* tag);

/// Bits [hi:lo] of a 128-bit register held as bits 127:8 in r[3..0].
uint32_t sd_bits(const uint32_t r[4], unsigned hi, unsigned lo);

#endif /* PIEMU_FW_SD_HOSTS_H */
