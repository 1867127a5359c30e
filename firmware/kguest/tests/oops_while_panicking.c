/*
 * An Oops in interrupt context on one CPU while another panics: as
 * oops_while_stopping.c, but CPU 0's init BUG()s instead of powering off, so the
 * kernel panics ("Attempted to kill init!") and stops the other CPUs. CPU 1 reports
 * its Oops ([#2]) and panics too, but panic() finds another CPU panicking first and
 * stops this one without a word (panic_smp_self_stop()), interrupts off: a second
 * later smp_send_stop() gives up and the first panic ends. Exit status 122.
 */
#include "piemu/kernel.h"

static volatile int started;

static void bug_later(void* info) {
    (void)info;
    started = 1;
    for (volatile int i = 0; i < 20000; ++i) /* CPU 0 is in panic() by then */
        ;
    BUG();
}

int init(void) {
    smp_call_function_single(1, bug_later, 0, 0);
    while (!started)
        ;
    printk(KERN_INFO "init: CPU 1 is in an IPI handler with interrupts off; BUG()\n");
    BUG();
    return 0;
}
