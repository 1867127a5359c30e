/*
 * An Oops in interrupt context on one CPU while another powers the machine off.
 * CPU 1 runs a function in its IPI handler (interrupts off) that BUG()s only after
 * CPU 0 has called kernel_power_off(): machine_power_off() stops the other CPUs
 * (smp_send_stop: CPUs 2 and 3 stop at once, silently after "Power down"), but CPU 1
 * does not take the IPI. Its BUG is an Oops in interrupt context, so it panics
 * ("Fatal exception in interrupt"); panic() never returns, so the Oops is reported
 * once, and CPU 1 then waits with interrupts off like any panicking CPU. A second
 * after the power-off began, smp_send_stop() gives up ("SMP: failed to stop
 * secondary CPUs") and the power goes off: exit status 5, kernel_power_off()'s.
 */
#include "piemu/kernel.h"

static volatile int started;

static void bug_later(void* info) {
    (void)info;
    started = 1;
    for (volatile int i = 0; i < 20000; ++i) /* CPU 0 is in machine_power_off() by then */
        ;
    BUG();
}

int init(void) {
    smp_call_function_single(1, bug_later, 0, 0);
    while (!started)
        ;
    printk(KERN_INFO "init: CPU 1 is in an IPI handler with interrupts off; power off\n");
    kernel_power_off(5);
    return 0;
}
