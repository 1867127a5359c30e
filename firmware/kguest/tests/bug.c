/* BUG() in init: "Internal error: Oops - BUG: 0 [#1]", then init dies and the kernel
 * panics ("Attempted to kill init!"). Exit status 122. */
#include "piemu/kernel.h"

int init(void) {
    printk(KERN_INFO "about to BUG()\n");
    BUG();
    return 0;
}
