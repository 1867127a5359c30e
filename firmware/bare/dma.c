/*
 * dma - memory-to-memory DMA on channel 4 with a chain of two control blocks, and its
 * completion interrupt (GPU IRQ 16 + 4 = 20).
 *
 * BCM2835 ARM Peripherals ch. 4 (4.2.1.1 control blocks: TI, SOURCE_AD, DEST_AD,
 * TXFR_LEN, STRIDE, NEXTCONBK, 32-byte aligned; 4.2.1.2 CS: ACTIVE bit 0, END bit 1 and
 * INT bit 2 write-1-to-clear; INT_STATUS 0xfe0, ENABLE 0xff0), ch. 7 (DMA channel n =
 * GPU IRQ 16 + n; boards/raspi2b.dts). Addresses in CBs are bus addresses: RAM through
 * the 0xC0000000 alias (1.2.4; the Pi 2 firmware's L2-uncached alias).
 *
 * Expected values, and why:
 *  - `ENABLE bit 4=1` after setting it (channel 4 runs).
 *  - Run 1, CPSR.I = 1: CB1 copies 64 bytes (S_INC, D_INC, no INTEN) and links CB2,
 *    which copies 32 more with INTEN. At the end: `CS[2:0]=0x6` (END, INT; ACTIVE
 *    clear: NEXTCONBK of CB2 was 0), `CONBLK_AD=0x00000000` (it loads NEXTCONBK),
 *    `INT_STATUS bit 4=1`, `pending1=0x00100000` (GPU IRQ 20 enabled and asserted).
 *    `copy: 96 bytes equal, guard intact`: both CBs ran, nothing written past them.
 *  - Unmasked, the handler sees the same, writes CS = END | INT (W1C) and reads
 *    `CS[2:0]=0x0 INT_STATUS bit 4=0 pending1=0x00000000`: the line follows INT
 *    (`order: irq`: the only event of run 1 is the handler's).
 *  - Run 2 starts with IRQs unmasked; `order: start, irq` and the copy (a new pattern)
 *    checked again.
 * Only CS bits 2:0 are printed: piemu sets CS.DREQ (bit 3) once a CB is loaded, as the
 * hardware does for DREQ-less transfers; QEMU leaves it 0.
 *
 * Left out: 2D mode (TI.TDMODE). QEMU 7.2 moves YLENGTH rows, the hardware YLENGTH + 1
 * (Raspberry Pi's bcm2708_fb.c programs "height - 1"); piemu follows the hardware, so no
 * 2D transfer is compared with QEMU (firmware/README.md; tests/unit/test_bcm2835_dma.cpp
 * checks piemu's 2D mode).
 */
#include <stdint.h>

#include "irq.h"
#include "periph.h"
#include "uart.h"

#define CH         4u
#define GPU_IRQ    (16u + CH)
#define COPY_BYTES 96u
#define GUARD      0xEEu
#define BUS(p)     (((uint32_t)(p)) | 0xC0000000u)

static struct dma_cb g_cb[2];
static uint8_t g_src[COPY_BYTES] __attribute__((aligned(32)));
static uint8_t g_dst[COPY_BYTES + 32] __attribute__((aligned(32)));

struct irq_record {
    uint32_t cs, int_status, pending1;
    uint32_t cs_after, int_status_after, pending1_after;
};

static struct irq_record g_rec;
static volatile uint32_t g_irqs;

static uint32_t ch_rd(uint32_t off) { return mmio_rd(DMA_CH(CH) + off); }
static void ch_wr(uint32_t off, uint32_t v) { mmio_wr(DMA_CH(CH) + off, v); }
static uint32_t int_status_bit(void) { return (mmio_rd(DMA_INT_STATUS) >> CH) & 1u; }

static void on_irq(uint32_t spsr)
{
    (void)spsr;
    struct irq_record r;
    r.cs = ch_rd(DMA_CS) & 7u;
    r.int_status = int_status_bit();
    r.pending1 = armctrl_rd(ARMCTRL_PENDING1);
    ch_wr(DMA_CS, DMA_CS_END | DMA_CS_INT);
    dsb();
    r.cs_after = ch_rd(DMA_CS) & 7u;
    r.int_status_after = int_status_bit();
    r.pending1_after = armctrl_rd(ARMCTRL_PENDING1);
    g_rec = r;
    g_irqs++;
    irq_event("irq");
}

static void prepare(uint8_t seed)
{
    for (unsigned i = 0; i < COPY_BYTES; i++)
        g_src[i] = (uint8_t)(seed + 7u * i);
    for (unsigned i = 0; i < sizeof g_dst; i++)
        g_dst[i] = GUARD;
    g_cb[0] = (struct dma_cb){.ti = DMA_TI_SRC_INC | DMA_TI_DEST_INC,
                              .source_ad = BUS(g_src),
                              .dest_ad = BUS(g_dst),
                              .txfr_len = 64,
                              .nextconbk = BUS(&g_cb[1])};
    g_cb[1] = (struct dma_cb){.ti = DMA_TI_INTEN | DMA_TI_SRC_INC | DMA_TI_DEST_INC,
                              .source_ad = BUS(g_src + 64),
                              .dest_ad = BUS(g_dst + 64),
                              .txfr_len = COPY_BYTES - 64,
                              .nextconbk = 0};
    dsb();
}

static void start(void)
{
    ch_wr(DMA_CONBLK_AD, BUS(&g_cb[0]));
    ch_wr(DMA_CS, DMA_CS_ACTIVE);
}

static void check_copy(void)
{
    int equal = 1, guard = 1;
    for (unsigned i = 0; i < COPY_BYTES; i++)
        equal &= g_dst[i] == g_src[i];
    for (unsigned i = COPY_BYTES; i < sizeof g_dst; i++)
        guard &= g_dst[i] == GUARD;
    uart_printf("copy: %u bytes %s, guard %s\n", COPY_BYTES, equal ? "equal" : "DIFFER",
                guard ? "intact" : "OVERWRITTEN");
    irq_expect(equal && guard, "copy");
}

int main(void)
{
    uart_puts("dma: start\n");
    irq_init("dma", on_irq, 0);
    mmio_wr(DMA_ENABLE, mmio_rd(DMA_ENABLE) | (1u << CH));
    ch_wr(DMA_CS, DMA_CS_RESET);
    uart_printf("ENABLE bit %u=%u\n", CH, (mmio_rd(DMA_ENABLE) >> CH) & 1u);

    /* Run 1: masked, polled to the end. */
    prepare(0x11);
    armctrl_wr(ARMCTRL_ENABLE1, 1u << GPU_IRQ);
    start();
    irq_expect(IRQ_WAIT_UNTIL(!(ch_rd(DMA_CS) & DMA_CS_ACTIVE)), "run 1");
    uart_printf("run 1 done (CPSR.I=1): CS[2:0]=0x%x CONBLK_AD=0x%08x INT_STATUS bit %u=%u "
                "pending1=0x%08x\n",
                ch_rd(DMA_CS) & 7u, ch_rd(DMA_CONBLK_AD), CH, int_status_bit(),
                armctrl_rd(ARMCTRL_PENDING1));
    check_copy();
    irq_unmask();
    irq_expect(IRQ_WAIT_UNTIL(g_irqs == 1), "run 1 interrupt");
    irq_mask();
    uart_printf("irq 1: CS[2:0]=0x%x INT_STATUS bit %u=%u pending1=0x%08x\n", g_rec.cs, CH,
                g_rec.int_status, g_rec.pending1);
    uart_printf("  after CS <- END|INT: CS[2:0]=0x%x INT_STATUS bit %u=%u pending1=0x%08x\n",
                g_rec.cs_after, CH, g_rec.int_status_after, g_rec.pending1_after);
    irq_events_print("order");

    /* Run 2: unmasked, the handler ends it. */
    prepare(0x5A);
    irq_unmask();
    irq_event("start");
    start();
    irq_expect(IRQ_WAIT_UNTIL(g_irqs == 2), "run 2 interrupt");
    irq_mask();
    uart_printf("irq 2: CS[2:0]=0x%x, after clear 0x%x\n", g_rec.cs, g_rec.cs_after);
    irq_events_print("order");
    check_copy();

    armctrl_wr(ARMCTRL_DISABLE1, 1u << GPU_IRQ);
    uart_printf("irqs taken: %u\n", g_irqs);
    return irq_result();
}
