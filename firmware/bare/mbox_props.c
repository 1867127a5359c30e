/*
 * mbox_props - the firmware property interface: requests on mailbox 1, channel 8,
 * answers on mailbox 0, first polled, then taken through the mailbox's data interrupt
 * (MBOX0_CONFIG bit 0 -> ARMCTRL basic pending bit 1, "ARM Mailbox").
 *
 * Sources: the Raspberry Pi firmware wiki ("Mailbox property interface": buffer layout,
 * codes 0x80000000 = success, tag response bit 31 | value length; the tags below);
 * Linux drivers/mailbox/bcm2835-mailbox.c (MAIL0_RD 0x00, MAIL0_STA 0x18 bit 30 empty,
 * MAIL0_CNF 0x1c bit 0 ARM_MC_IHAVEDATAIRQEN, MAIL1_WRT 0x20, MAIL1_STA 0x38 bit 31
 * full); BCM2835 ARM Peripherals 7.5 (basic pending bit 1).
 *
 * Only answers QEMU 7.2 and piemu must agree on are printed (QEMU's raspi2b is the
 * reference of the qemu./differential. tests). Expected values, and why:
 *  - `reply=0x0000xxx8`: mailbox 0 echoes the buffer address with channel 8 (wiki);
 *    printed as "address echoed: yes" since the address is the linker's.
 *  - `code=0x80000000`: request successful.
 *  - board revision `0x00a21041`: new-style code of a Pi 2 Model B v1.1 (BCM2836,
 *    1 GiB, Sony UK): QEMU's raspi2b board-rev and piemu's raspi2b.
 *  - MAC: tag response `0x80000006` (6 bytes); the address itself differs on purpose
 *    (QEMU 52:54:00:12:34:56, piemu b8:27:eb:..., the Foundation's OUI) and is not
 *    printed.
 *  - ARM memory base 0 and "ARM end = VC base", "VC end = 1 GiB": the firmware splits
 *    the 1 GiB between the ARM (from 0) and the VideoCore (the rest); the split depends
 *    on gpu_mem (QEMU 64 MiB, piemu 76 MiB), so the sizes are not printed.
 *  - set power state (device 0, SD card; state 3 = on, wait): answer state 1 = on
 *    (bit 0) and exists (bit 1 clear), response 0x80000008.
 *  - framebuffer 640x480, depth 32, in one buffer with allocate (alignment 16): pitch
 *    2560 = 640 * 4 bytes, size 1228800 = 2560 * 480; the buffer lies inside the
 *    VideoCore's memory (its bus address & 0x3fffffff, as Linux's bcm2708_fb does).
 *    The depth and sizes read back as set.
 *  - interrupt: with CONFIG bit 0 set and basic IRQ bit 1 enabled, the reply raises
 *    the IRQ: basic pending 0x00000002 in the handler, the same reply word read from
 *    MAIL0_RD there, then STATUS bit 30 (empty) set and basic pending 0 (the line is
 *    "mailbox 0 not empty and IRQ enabled").
 *
 * Left out (QEMU differs from the firmware, see firmware/README.md): firmware
 * revision, board model and serial (QEMU: NYI), clock rates (QEMU answers 50 MHz EMMC,
 * 3 MHz UART and 700 MHz for every other clock; the Pi 2 firmware's UART clock is 48 MHz
 * and its ARM 900 MHz). piemu's answers to those are checked by
 * tests/unit/test_bcm2835_mbox.cpp.
 */
#include <stdint.h>

#include "irq.h"
#include "periph.h"
#include "uart.h"

#define TAG_BOARD_REVISION 0x00010002u
#define TAG_BOARD_MAC      0x00010003u
#define TAG_ARM_MEMORY     0x00010005u
#define TAG_VC_MEMORY      0x00010006u
#define TAG_SET_POWER      0x00028001u
#define TAG_FB_ALLOCATE    0x00040001u
#define TAG_FB_SET_PHYS    0x00048003u
#define TAG_FB_SET_VIRT    0x00048004u
#define TAG_FB_SET_DEPTH   0x00048005u
#define TAG_FB_GET_PITCH   0x00040008u
#define CODE_SUCCESS       0x80000000u
#define BASIC_MAILBOX      (1u << 1)

static volatile uint32_t g_buf[64] __attribute__((aligned(16)));
static unsigned g_len;

static volatile uint32_t g_irqs, g_irq_reply, g_irq_basic;

static void on_irq(uint32_t spsr)
{
    (void)spsr;
    g_irq_basic = armctrl_rd(ARMCTRL_BASIC_PENDING) & 0xFFu;
    g_irq_reply = mbox_rd(MBOX0_READ);
    g_irqs++;
}

static void buf_start(void)
{
    g_len = 2; /* size, code: filled in by buf_end */
}

/* Adds a tag with `n` value words (the request values, or 0) and returns the index
 * of its first value word. */
static unsigned tag(uint32_t id, unsigned n, const uint32_t *values)
{
    g_buf[g_len++] = id;
    g_buf[g_len++] = 4 * n;
    g_buf[g_len++] = 0;
    unsigned at = g_len;
    for (unsigned i = 0; i < n; i++)
        g_buf[g_len++] = values ? values[i] : 0;
    return at;
}

static void buf_end(void)
{
    g_buf[g_len++] = 0; /* end tag */
    g_buf[0] = 4 * g_len;
    g_buf[1] = 0;
    dsb();
}

/* The response word of the tag whose value starts at `at`. */
static uint32_t resp(unsigned at)
{
    return g_buf[at - 1];
}

static int in_vc(uint32_t addr, uint32_t size, uint32_t vc_base, uint32_t vc_size)
{
    addr &= 0x3FFFFFFFu;
    return addr >= vc_base && addr + size <= vc_base + vc_size;
}

int main(void)
{
    uart_puts("mbox_props: start\n");
    irq_init("mbox_props", on_irq, 0);
    mbox_wr(MBOX0_CONFIG, 0);

    /* 1. Board and memory, polled. */
    buf_start();
    unsigned rev = tag(TAG_BOARD_REVISION, 1, 0);
    unsigned mac = tag(TAG_BOARD_MAC, 2, 0);
    unsigned arm = tag(TAG_ARM_MEMORY, 2, 0);
    unsigned vc = tag(TAG_VC_MEMORY, 2, 0);
    static const uint32_t power_on[2] = {0, 3};
    unsigned pwr = tag(TAG_SET_POWER, 2, power_on);
    buf_end();
    irq_expect(mbox_send(MBOX_CH_PROP, g_buf), "mailbox 1 full");
    uint32_t reply = mbox_receive();
    uart_printf("polled: reply channel %u, address echoed: %s, code=0x%08x\n", reply & 0xFu,
                (reply & ~0xFu) == (uint32_t)g_buf ? "yes" : "no", g_buf[1]);
    uart_printf("board revision: resp=0x%08x value=0x%08x\n", resp(rev), g_buf[rev]);
    uart_printf("board MAC: resp=0x%08x\n", resp(mac));
    uint32_t arm_base = g_buf[arm], arm_size = g_buf[arm + 1];
    uint32_t vc_base = g_buf[vc], vc_size = g_buf[vc + 1];
    uart_printf("ARM memory: resp=0x%08x base=0x%08x; VC memory: resp=0x%08x\n", resp(arm),
                arm_base, resp(vc));
    uart_printf("ARM end = VC base: %s, VC end = 1 GiB: %s\n",
                arm_base + arm_size == vc_base ? "yes" : "no",
                vc_base + vc_size == 0x40000000u ? "yes" : "no");
    uart_printf("set power (SD, on+wait): resp=0x%08x device=%u state=0x%x\n", resp(pwr),
                g_buf[pwr], g_buf[pwr + 1]);

    /* 2. A framebuffer, the reply taken by the mailbox interrupt. */
    buf_start();
    static const uint32_t size[2] = {640, 480};
    static const uint32_t depth[1] = {32};
    static const uint32_t align[2] = {16, 0};
    unsigned phys = tag(TAG_FB_SET_PHYS, 2, size);
    unsigned virt = tag(TAG_FB_SET_VIRT, 2, size);
    unsigned dep = tag(TAG_FB_SET_DEPTH, 1, depth);
    unsigned alloc = tag(TAG_FB_ALLOCATE, 2, align);
    unsigned pitch = tag(TAG_FB_GET_PITCH, 1, 0);
    buf_end();
    armctrl_wr(ARMCTRL_ENABLE_BASIC, BASIC_MAILBOX);
    mbox_wr(MBOX0_CONFIG, 1); /* data-available interrupt */
    irq_unmask();
    irq_expect(mbox_send(MBOX_CH_PROP, g_buf), "mailbox 1 full");
    irq_expect(IRQ_WAIT_UNTIL(g_irqs == 1), "mailbox interrupt");
    irq_mask();
    uart_printf("irq: basic pending=0x%08x, address echoed: %s, code=0x%08x\n", g_irq_basic,
                (g_irq_reply & ~0xFu) == (uint32_t)g_buf ? "yes" : "no", g_buf[1]);
    uart_printf("after the read: status empty=%s basic pending=0x%08x\n",
                mbox_rd(MBOX0_STATUS) & MBOX_EMPTY ? "yes" : "no",
                armctrl_rd(ARMCTRL_BASIC_PENDING) & 0xFFu);
    uart_printf("fb physical %ux%u virtual %ux%u depth %u (resp 0x%08x 0x%08x 0x%08x)\n",
                g_buf[phys], g_buf[phys + 1], g_buf[virt], g_buf[virt + 1], g_buf[dep],
                resp(phys), resp(virt), resp(dep));
    uint32_t fb = g_buf[alloc], fb_size = g_buf[alloc + 1];
    uart_printf("fb allocate: resp=0x%08x size=%u in VC memory: %s\n", resp(alloc), fb_size,
                in_vc(fb, fb_size, vc_base, vc_size) ? "yes" : "no");
    uart_printf("fb pitch: resp=0x%08x pitch=%u\n", resp(pitch), g_buf[pitch]);
    mbox_wr(MBOX0_CONFIG, 0);
    armctrl_wr(ARMCTRL_DISABLE_BASIC, BASIC_MAILBOX);
    uart_printf("mailbox irqs: %u\n", g_irqs);
    return irq_result();
}
