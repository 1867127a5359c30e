/*
 * Experiment 5: the __irq_svc register push, one instruction at a time.
 *
 * init fills r0-r10 with values you can recognise (r1 = 0x11111111 ... r10 =
 * 0xaaaaaaaa) and spins until the system timer interrupts it. Step it with
 *   piemu step demo_ptregs.elf --break irq --until handler
 * and watch: the core enters IRQ mode at 0xffff0018 with LR_irq and SPSR_irq set;
 * vector_irq saves r0, lr_irq and spsr_irq on the tiny IRQ-mode stack and switches
 * to SVC mode; __irq_svc carves struct pt_regs (72 bytes, 18 words) out of init's
 * kernel stack and stores r1-r12 (those recognisable values), then r0, the
 * interrupted sp, lr, pc and cpsr and ORIG_r0 = -1; then it calls handle_arch_irq,
 * the BCM2836 irqchip's entry, and genirq takes over to reach demo_handler. `frame`
 * prints the saved pt_regs word by word; `bt` the way back to init.
 */
#include "demo.h"

static int mydev;
static volatile int fired __attribute__((used));

static irqreturn_t demo_handler(int irq, void* dev_id) {
    (void)irq;
    (void)dev_id;
    if (!timer_ack())
        return IRQ_NONE;
    fired = 1;
    return IRQ_HANDLED;
}

int init(void) {
    request_irq(IRQ_SYSTIMER_C1, demo_handler, 0, "demo-ptregs", &mydev);
    timer_in(20);
    __asm__ volatile("ldr r0, =0x00000000\n\t"
                     "ldr r1, =0x11111111\n\t"
                     "ldr r2, =0x22222222\n\t"
                     "ldr r3, =0x33333333\n\t"
                     "ldr r4, =0x44444444\n\t"
                     "ldr r5, =0x55555555\n\t"
                     "ldr r6, =0x66666666\n\t"
                     "ldr r7, =0x77777777\n\t"
                     "ldr r8, =0x88888888\n\t"
                     "ldr r9, =0x99999999\n\t"
                     "ldr r10, =0xaaaaaaaa\n\t"
                     "1: ldr r12, =fired\n\t" /* until demo_handler has run */
                     "ldr lr, [r12]\n\t"
                     "cmp lr, #0\n\t"
                     "beq 1b\n\t"
                     :
                     :
                     : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r12",
                       "lr", "cc", "memory");
    free_irq(IRQ_SYSTIMER_C1, &mydev);
    return 0;
}
