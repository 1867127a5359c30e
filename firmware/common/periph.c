/* periph.c - polled helpers of periph.h (mini UART, mailbox). */
#include "periph.h"

void miniuart_init(void)
{
    aux_wr(AUX_ENABLES, aux_rd(AUX_ENABLES) | 1u);
    aux_wr(AUX_MU_CNTL, 0);    /* transmitter and receiver off while programming */
    aux_wr(AUX_MU_IER, 0);
    aux_wr(AUX_MU_LCR, 3);     /* 8 data bits */
    aux_wr(AUX_MU_IIR, 0xC6);  /* clear both FIFOs */
    aux_wr(AUX_MU_BAUD, 270);  /* 250 MHz / (8 * 271) = 115313 baud */
    aux_wr(AUX_MU_CNTL, 3);
}

void miniuart_putc(char c)
{
    IRQ_WAIT_UNTIL(aux_rd(AUX_MU_LSR) & AUX_MU_LSR_TX_EMPTY);
    aux_wr(AUX_MU_IO, (uint8_t)c);
}

void miniuart_puts(const char *s)
{
    while (*s)
        miniuart_putc(*s++);
}

int mbox_send(uint32_t ch, const volatile void *buf)
{
    if (!IRQ_WAIT_UNTIL(!(mbox_rd(MBOX1_STATUS) & MBOX_FULL)))
        return 0;
    dsb();
    mbox_wr(MBOX1_WRITE, ((uint32_t)buf & ~0xFu) | (ch & 0xFu));
    return 1;
}

uint32_t mbox_receive(void)
{
    if (!IRQ_WAIT_UNTIL(!(mbox_rd(MBOX0_STATUS) & MBOX_EMPTY)))
        return 0xFFFFFFFFu;
    uint32_t v = mbox_rd(MBOX0_READ);
    dsb();
    return v;
}
