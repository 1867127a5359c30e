/*
 * sd_integrity - writes a known pattern to the SD card through whichever host holds
 * it, then ends the run the way block 0 of the card asks (tests/integration/
 * check-sd-integrity prepares the image and checksums it afterwards).
 *
 * Block 0: "SDINTEG" and a mode letter at byte 7: 'n' return normally (exit 0),
 * 't' spin until the test script's SIGTERM, 'f' fault: an undefined instruction
 * whose vector is itself undefined, so piemu ends the run (exit 125).
 * Blocks 1-16 get the pattern: block b, byte i = (b * 37 + i * 13 + (i >> 8)) & 0xff,
 * with the block number in bytes 0-3 (little-endian). Blocks 1-4 are written one at a
 * time (CMD24), 5-16 with two multi-block writes (CMD25, 4 and 8 blocks). The image
 * prints "sd_integrity: writes done" once every block has been written and read back.
 *
 * Mode 'k' (tests/integration/check-sd-kill, which stops piemu in the middle): blocks
 * 1-48 one at a time, then 49-56 in one multi-block write, printing
 * "sd_integrity: wrote N" as soon as the host reports block N (the last of a write)
 * complete and then idling for about a million instructions, then "writes done" and
 * exit 0.
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
        for (uint32_t b = 1; b <= 48; ++b) {
            if (write_blocks(host, b, 1))
                return 1;
            uart_printf("sd_integrity: wrote %u\n", (unsigned)b);
            /* About a million instructions between writes, so that a signal sent
             * when the image holds N blocks arrives while the writes go on. */
            for (volatile unsigned i = 0; i < 200000; ++i)
                ;
        }
        if (write_blocks(host, 49, 8))
            return 1;
        uart_puts("sd_integrity: wrote 56\nsd_integrity: writes done\n");
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
    return 0;
}
