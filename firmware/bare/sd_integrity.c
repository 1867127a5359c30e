/*
 * sd_integrity - writes a known pattern to the SD card through whichever host holds
 * it, then ends the run the way block 0 of the card asks (tests/integration/
 * check-sd-integrity prepares the image and checksums it afterwards).
 *
 * Block 0: "SDINTEG" and a mode letter at byte 7: 'n' return normally (exit 0),
 * 't' spin until the test script's signal or --max-insns, 'f' fault: an undefined
 * instruction whose vector is itself undefined, so piemu ends the run (exit 125), 'p'
 * power off as Linux's bcm2835_power_off() does (PM_RSTS partition 63, then a
 * watchdog full reset; exit 0).
 * Blocks 1-16 get the pattern: block b, byte i = (b * 37 + i * 13 + (i >> 8)) & 0xff,
 * with the block number in bytes 0-3 (little-endian). Blocks 1-4 are written one at a
 * time (CMD24), 5-16 with two multi-block writes (CMD25, 4 and 8 blocks). The image
 * prints "sd_integrity: writes done" once every block has been written and read back.
 *
 * Mode 'k' (tests/integration/check-sd-kill, which stops piemu in the middle): bytes
 * 8-11 of block 0 hold a seed and bytes 12-15 a number of writes N (little-endian).
 * Writes 1..N follow one another without pause, each at blocks drawn from the seed by
 * xorshift32 (Marsaglia; shifts 13, 17, 5; a zero seed counts as 1): r = next();
 * start = 1 + r % 249; one block (CMD24) unless (r >> 8) % 4 == 0, then
 * 2 + (r >> 10) % 7 blocks (CMD25). Blocks 1-256 are overwritten many times, and block
 * b of write s holds byte i = (s * 53 + b * 37 + i * 13 + (i >> 8)) & 0xff with b in
 * bytes 0-3 and s in bytes 4-7 (little-endian), so every block says which write left
 * it there. As soon as the host reports write s complete the image prints
 * "sd_integrity: wrote S START COUNT"; after the last, "writes done" and exit 0.
 */
#include <stdint.h>

#include "sd_hosts.h"
#include "uart.h"
#include "vectors.h"

static uint32_t buf[8 * 128];

static void make_block(uint32_t b, uint8_t* out) {
    for (unsigned i = 0; i < 512; ++i)
        out[i] = (uint8_t)(b * 37 + i * 13 + (i >> 8));
    out[0] = (uint8_t)b;
    out[1] = (uint8_t)(b >> 8);
    out[2] = (uint8_t)(b >> 16);
    out[3] = (uint8_t)(b >> 24);
}

/* Mode 'k': block b as write s leaves it. */
static void make_stamped_block(uint32_t s, uint32_t b, uint8_t* out) {
    for (unsigned i = 0; i < 512; ++i)
        out[i] = (uint8_t)(s * 53 + b * 37 + i * 13 + (i >> 8));
    for (unsigned i = 0; i < 4; ++i) {
        out[i] = (uint8_t)(b >> (8 * i));
        out[4 + i] = (uint8_t)(s >> (8 * i));
    }
}

static int write_blocks(const struct sd_host* host, uint32_t first, unsigned count) {
    for (unsigned k = 0; k < count; ++k)
        make_block(first + k, (uint8_t*)&buf[k * 128]);
    return host->write(first, count, buf);
}

static int check_blocks(const struct sd_host* host, uint32_t first, unsigned count) {
    static uint32_t want[128];
    if (host->read(first, count, buf))
        return -1;
    for (unsigned k = 0; k < count; ++k) {
        make_block(first + k, (uint8_t*)want);
        for (unsigned w = 0; w < 128; ++w)
            if (buf[k * 128 + w] != want[w])
                return -2;
    }
    return 0;
}

#define PM_BASE 0x3F100000u
#define PM_RSTC (*(volatile uint32_t*)(PM_BASE + 0x1c))
#define PM_RSTS (*(volatile uint32_t*)(PM_BASE + 0x20))
#define PM_WDOG (*(volatile uint32_t*)(PM_BASE + 0x24))
#define PM_PASSWORD 0x5a000000u

/* A vector table whose every entry is UDF #0. */
__attribute__((aligned(32))) static const uint32_t udf_vectors[8] = {
    0xe7f000f0u, 0xe7f000f0u, 0xe7f000f0u, 0xe7f000f0u,
    0xe7f000f0u, 0xe7f000f0u, 0xe7f000f0u, 0xe7f000f0u};

int main(void) {
    /* The card is on the SDHCI if its present state says so, else on the SDHOST. */
    const struct sd_host* host = (sdhci_status() & (1u << 16)) ? &sd_sdhci : &sd_sdhost;
    uart_printf("sd_integrity: card on %s\n", host->name);
    struct sd_card card;
    if (sd_card_init(host, &card, "sd_integrity"))
        return 1;
    if (host->read(0, 1, buf)) {
        uart_puts("sd_integrity: block 0 unreadable\n");
        return 1;
    }
    const char* magic = "SDINTEG";
    const uint8_t* b0 = (const uint8_t*)buf;
    for (unsigned i = 0; i < 7; ++i)
        if (b0[i] != (uint8_t)magic[i]) {
            uart_puts("sd_integrity: no SDINTEG header in block 0\n");
            return 1;
        }
    char mode = (char)b0[7];
    uart_printf("sd_integrity: mode %c\n", mode);

    if (mode == 'k') {
        const uint32_t* w0 = (const uint32_t*)buf;
        uint32_t x = w0[2] ? w0[2] : 1;
        uint32_t n = w0[3];
        for (uint32_t s = 1; s <= n; ++s) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            uint32_t start = 1 + x % 249;
            unsigned count = ((x >> 8) % 4 == 0) ? 2 + (x >> 10) % 7 : 1;
            for (unsigned k = 0; k < count; ++k)
                make_stamped_block(s, start + k, (uint8_t*)&buf[k * 128]);
            if (host->write(start, count, buf))
                return 1;
            uart_printf("sd_integrity: wrote %u %u %u\n", (unsigned)s, (unsigned)start, count);
        }
        uart_puts("sd_integrity: writes done\n");
        return 0;
    }

    int bad = 0;
    for (uint32_t b = 1; b <= 4; ++b)
        bad |= write_blocks(host, b, 1);
    bad |= write_blocks(host, 5, 4);
    bad |= write_blocks(host, 9, 8);
    bad |= check_blocks(host, 1, 8) | check_blocks(host, 9, 8);
    if (bad) {
        uart_puts("sd_integrity: write or read-back failed\n");
        return 1;
    }
    uart_puts("sd_integrity: writes done\n");

    if (mode == 't') {
        uart_puts("sd_integrity: spinning until stopped\n");
        for (;;)
            __asm__ volatile("" ::: "memory");
    }
    if (mode == 'f') {
        uart_puts("sd_integrity: faulting\n");
        vectors_install(udf_vectors);
        __asm__ volatile(".word 0xe7f000f0");
    }
    if (mode == 'p') {
        uart_puts("sd_integrity: powering off\n");
        /* PM_RSTS_RASPBERRYPI_HALT: partition 63 (bits 0,2,..,10), "halt" to the
         * firmware. */
        PM_RSTS = PM_RSTS | PM_PASSWORD | 0x555u;
        PM_WDOG = PM_PASSWORD | 10;
        PM_RSTC = PM_PASSWORD | 0x20u; /* WRCFG full reset */
        for (;;)
            __asm__ volatile("" ::: "memory");
    }
    return 0;
}
