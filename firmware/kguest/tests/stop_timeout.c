/*
 * A panic while another CPU runs with interrupts off: panic() stops the other CPUs
 * with IPI_CPU_STOP (smp_send_stop). CPUs 2 and 3 are idle and stop at once ("CPU2:
 * stopping" with their stacks); CPU 1 waits with interrupts disabled (WFE in a loop,
 * so that the second costs no host time) and never takes the IPI, so after a second smp_send_stop() gives up ("SMP: failed to stop secondary
 * CPUs") and the panic ends. Exit status 122.
 */
#include "piemu/kernel.h"

static volatile int spinning;

static int spinner(void* data) {
    (void)data;
    local_irq_disable();
    spinning = 1;
    for (;;)
        __asm__ volatile("wfe");
    return 0;
}

int init(void) {
    wake_up_process(kthread_create_on_cpu(spinner, 0, 1, "km-spinner"));
    while (!spinning)
        msleep(1);
    printk(KERN_INFO "init: CPU 1 spins with interrupts off; BUG()\n");
    BUG();
    return 0;
}
