/*
 * sd_exercise.c - see sd_exercise.h. The card is a fresh, all-zero image of 4 GiB: an
 * SDHC card for both QEMU (which makes cards of 2 GiB and less standard capacity) and
 * piemu. Printed values are ones both cards share: OCR, CSD structure, TRAN_SPEED,
 * READ_BL_LEN, C_SIZE; the CID and RCA differ (manufacturer, name, serial), so only
 * their plausibility is printed.
 */
#include "sd_exercise.h"

#include "uart.h"

static uint32_t buf[4 * 128];
static uint32_t back[4 * 128];

static uint32_t pattern(uint32_t block, unsigned w) {
    return block * 0x01000193u ^ (w * 0x9e3779b9u) ^ 0x5d0c0de5u;
}

static void fill(uint32_t first, unsigned count) {
    for (unsigned b = 0; b < count; ++b)
        for (unsigned w = 0; w < 128; ++w)
            buf[b * 128 + w] = pattern(first + b, w);
}

static int compare(uint32_t first, unsigned count) {
    for (unsigned b = 0; b < count; ++b)
        for (unsigned w = 0; w < 128; ++w)
            if (back[b * 128 + w] != pattern(first + b, w))
                return -1;
    return 0;
}

static int printable(const uint32_t cid[4]) {
    for (unsigned c = 0; c < 5; ++c) {
        uint32_t ch = sd_bits(cid, 103 - 8 * c, 96 - 8 * c);
        if (ch < 0x20 || ch > 0x7e)
            return 0;
    }
    return 1;
}

static const char* verdict(int ok) {
    return ok ? "ok" : "FAILED";
}

int sd_exercise(const struct sd_host* host) {
    const char* tag = host->name;
    struct sd_card card;
    if (sd_card_init(host, &card, tag))
        return 1;
    /* QEMU's card lists more voltage windows than piemu's 2.7-3.6 V (0x00ff8000). */
    uart_printf("%s: OCR busy/CCS 0x%08x (powered up, high capacity), 3.2-3.4 V: %s\n", tag,
                card.ocr & 0xc0000000u, (card.ocr & 0x00300000u) == 0x00300000u ? "yes" : "no");
    uint32_t month = sd_bits(card.cid, 11, 8);
    uart_printf("%s: CID product name printable: %s, manufacturing month valid: %s\n", tag,
                printable(card.cid) ? "yes" : "no", month >= 1 && month <= 12 ? "yes" : "no");
    uart_printf("%s: RCA assigned: %s\n", tag, card.rca ? "yes" : "no");
    uint32_t c_size = sd_bits(card.csd, 69, 48);
    uart_printf("%s: CSD structure %u, TRAN_SPEED 0x%02x, READ_BL_LEN %u, C_SIZE %u (%u MiB)\n",
                tag, sd_bits(card.csd, 127, 126), sd_bits(card.csd, 103, 96),
                sd_bits(card.csd, 83, 80), c_size, (c_size + 1) / 2);

    int failures = 0;
    uint32_t resp[4];
    int ok = host->cmd(13, card.rca << 16, SD_RESP_48, resp) == 0;
    uart_printf("%s: CMD13 after CMD7: state %u (tran)\n", tag, ok ? (resp[0] >> 9) & 0xf : 99);

    fill(100, 1);
    ok = host->write(100, 1, buf) == 0;
    uart_printf("%s: CMD24 write block 100: %s\n", tag, verdict(ok));
    failures += !ok;
    fill(200, 4);
    ok = host->write(200, 4, buf) == 0;
    uart_printf("%s: CMD25 write blocks 200-203: %s\n", tag, verdict(ok));
    failures += !ok;

    ok = host->read(100, 1, back) == 0 && compare(100, 1) == 0;
    uart_printf("%s: CMD17 read block 100: %s\n", tag, ok ? "matches" : "DIFFERS");
    failures += !ok;
    ok = host->read(200, 4, back) == 0 && compare(200, 4) == 0;
    uart_printf("%s: CMD18 read blocks 200-203: %s\n", tag, ok ? "matches" : "DIFFERS");
    failures += !ok;
    ok = host->read(201, 2, back) == 0 && back[0] == pattern(201, 0) &&
         back[255] == pattern(202, 127);
    uart_printf("%s: CMD18 read blocks 201-202: %s\n", tag, ok ? "matches" : "DIFFERS");
    failures += !ok;
    ok = host->read(300, 1, back) == 0;
    uint32_t any = 0;
    for (unsigned w = 0; w < 128; ++w)
        any |= back[w];
    uart_printf("%s: CMD17 read block 300 (never written): %s\n", tag,
                ok && !any ? "all zero" : "NOT ZERO");
    failures += !(ok && !any);

    ok = host->cmd(13, card.rca << 16, SD_RESP_48, resp) == 0;
    uart_printf("%s: CMD13 after the transfers: state %u (tran)\n", tag,
                ok ? (resp[0] >> 9) & 0xf : 99);
    return failures;
}
