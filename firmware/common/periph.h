/*
 * periph.h - register maps and polled helpers of the BCM2835 peripherals the
 * device images use beyond the interrupt controllers (irq.h): the AUX mini UART, the
 * ARM/VideoCore mailbox with the property channel, and the DMA controller.
 *
 * Datasheets and sources:
 *   BCM2835 ARM Peripherals ch. 2 (AUX: mini UART) and ch. 4 (DMA controller); the
 *   BCM2836/BCM2837 put the same blocks at 0x3F000000.
 *   The Raspberry Pi firmware wiki, "Mailboxes" and "Mailbox property interface"; Linux
 *   drivers/mailbox/bcm2835-mailbox.c for the register offsets and bits.
 */
#ifndef PIEMU_FW_PERIPH_H
#define PIEMU_FW_PERIPH_H

#include <stdint.h>

#include "irq.h"

/* ---- AUX block and mini UART (UART1), ch. 2 ------------------------------------ */
#define AUX_BASE     0x3F215000u
#define AUX_IRQ      0x00u /* R: bit 0 mini UART interrupt pending */
#define AUX_ENABLES  0x04u /* RW: bit 0 mini UART enable */
#define AUX_MU_IO    0x40u /* RW: TX write / RX read */
#define AUX_MU_IER   0x44u /* RW: interrupt enables (see miniuart.c for the bit order) */
#define AUX_MU_IIR   0x48u /* R: bits 2:1 interrupt id, bit 0 none pending; W: FIFO clears */
#define AUX_MU_LCR   0x4Cu /* RW: bit 0 8-bit mode (bits 1:0 = 3 in Linux and most code) */
#define AUX_MU_LSR   0x54u /* R: bit 0 data ready, bit 5 TX can accept, bit 6 TX idle */
#define AUX_MU_CNTL  0x60u /* RW: bit 0 RX enable, bit 1 TX enable */
#define AUX_MU_STAT  0x64u
#define AUX_MU_BAUD  0x68u /* RW: baud = core clock / (8 * (BAUD + 1)) */
#define AUX_MU_LSR_TX_EMPTY (1u << 5)

static inline uint32_t aux_rd(uint32_t off) { return mmio_rd(AUX_BASE + off); }
static inline void aux_wr(uint32_t off, uint32_t v) { mmio_wr(AUX_BASE + off, v); }

/// Enable the mini UART at 115200 8N1 (250 MHz core clock: BAUD 270), FIFOs cleared,
/// interrupts off, transmitter and receiver on.
void miniuart_init(void);
/// Send one byte, polling LSR bit 5 (bounded: gives up after IRQ_WAIT_BOUND polls).
void miniuart_putc(char c);
void miniuart_puts(const char *s);

/* ---- Mailbox 0 (VC -> ARM) and 1 (ARM -> VC) ------------------------------------ */
#define MBOX_BASE    0x3F00B880u
#define MBOX0_READ   0x00u
#define MBOX0_STATUS 0x18u /* bit 30 empty, bit 31 full */
#define MBOX0_CONFIG 0x1Cu /* bit 0 data-available IRQ enable */
#define MBOX1_WRITE  0x20u
#define MBOX1_STATUS 0x38u
#define MBOX_EMPTY   (1u << 30)
#define MBOX_FULL    (1u << 31)
#define MBOX_CH_PROP 8u

static inline uint32_t mbox_rd(uint32_t off) { return mmio_rd(MBOX_BASE + off); }
static inline void mbox_wr(uint32_t off, uint32_t v) { mmio_wr(MBOX_BASE + off, v); }

/// Send the 16-byte aligned buffer at `buf` on channel `ch` (waiting, bounded, while
/// mailbox 1 is full). The buffer address is the ARM physical address, which the
/// firmware also accepts as a bus address (RAM is aliased at 0).
int mbox_send(uint32_t ch, const volatile void *buf);
/// Poll mailbox 0 until a message arrives (bounded) and return it; 0xFFFFFFFF on timeout.
uint32_t mbox_receive(void);

/* ---- DMA controller, ch. 4 ------------------------------------------------------ */
#define DMA_BASE          0x3F007000u
#define DMA_CH(n)         (DMA_BASE + 0x100u * (n))
#define DMA_CS            0x00u /* bit 0 ACTIVE, 1 END (W1C), 2 INT (W1C), 31 RESET */
#define DMA_CONBLK_AD     0x04u
#define DMA_TI            0x08u
#define DMA_SOURCE_AD     0x0Cu
#define DMA_DEST_AD       0x10u
#define DMA_TXFR_LEN      0x14u
#define DMA_STRIDE        0x18u
#define DMA_NEXTCONBK     0x1Cu
#define DMA_INT_STATUS    (DMA_BASE + 0xFE0u)
#define DMA_ENABLE        (DMA_BASE + 0xFF0u)
#define DMA_CS_ACTIVE     (1u << 0)
#define DMA_CS_END        (1u << 1)
#define DMA_CS_INT        (1u << 2)
#define DMA_CS_RESET      (1u << 31)
#define DMA_TI_INTEN      (1u << 0)
#define DMA_TI_TDMODE     (1u << 1)
#define DMA_TI_DEST_INC   (1u << 4)
#define DMA_TI_SRC_INC    (1u << 8)

/// A control block: 32-byte aligned in memory (ch. 4.2.1.1).
struct dma_cb {
    uint32_t ti, source_ad, dest_ad, txfr_len, stride, nextconbk, reserved[2];
} __attribute__((aligned(32)));

#endif /* PIEMU_FW_PERIPH_H */
