# The first IRQ of irq_systimer (system timer C1) at the C entry of the vector:
# irqv_irq has pushed the interrupted code's r0-r3, r12 and return address.
break *irq_c_irq
continue
info registers
x/18wx $sp
stepi
info registers pc
kill
