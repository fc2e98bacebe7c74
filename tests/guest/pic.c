// SPDX-License-Identifier: Apache-2.0
#include "io.h"
#include "pic.h"
#include "traps.h"

#define PIC_MASTER_CMD	0x20
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_CMD	0xa0
#define PIC_SLAVE_DATA	0xa1

#define ICW1_INIT_ICW4	  0x11 /* init, edge triggered, cascade, ICW4 follows */
#define ICW3_MASTER	  0x04 /* slave on IR2 */
#define ICW3_SLAVE	  0x02 /* slave ID 2 */
#define ICW4_8086	  0x01
#define OCW2_SPECIFIC_EOI 0x60
#define OCW3_READ_ISR	  0x0b
#define PIC_CASCADE_IRQ	  2
#define PIC_SPURIOUS_IRQ  7

/* Current master mask: 1 = masked. */
static uint8_t master_mask = 0xff;

void pic_init(void)
{
	outb(0xff, PIC_MASTER_DATA);
	outb(0xff, PIC_SLAVE_DATA);

	outb(ICW1_INIT_ICW4, PIC_MASTER_CMD);
	outb(IRQ_VECTOR_BASE, PIC_MASTER_DATA);
	outb(ICW3_MASTER, PIC_MASTER_DATA);
	outb(ICW4_8086, PIC_MASTER_DATA);

	outb(ICW1_INIT_ICW4, PIC_SLAVE_CMD);
	outb(IRQ_VECTOR_BASE + 8, PIC_SLAVE_DATA);
	outb(ICW3_SLAVE, PIC_SLAVE_DATA);
	outb(ICW4_8086, PIC_SLAVE_DATA);

	master_mask = 0xff;
	outb(master_mask, PIC_MASTER_DATA);
	outb(0xff, PIC_SLAVE_DATA);
}

void pic_unmask(unsigned int irq)
{
	if (irq >= 8 || irq == PIC_CASCADE_IRQ)
		return;
	master_mask &= (uint8_t) ~(1u << irq);
	outb(master_mask, PIC_MASTER_DATA);
}

void pic_eoi(unsigned int irq)
{
	if (irq >= 8) {
		outb(OCW2_SPECIFIC_EOI | (irq & 7), PIC_SLAVE_CMD);
		outb(OCW2_SPECIFIC_EOI | PIC_CASCADE_IRQ, PIC_MASTER_CMD);
	} else {
		outb(OCW2_SPECIFIC_EOI | irq, PIC_MASTER_CMD);
	}
}

static uint8_t pic_read_isr(uint16_t cmd_port)
{
	outb(OCW3_READ_ISR, cmd_port);
	return inb(cmd_port);
}

bool pic_is_spurious(unsigned int irq)
{
	if (irq == PIC_SPURIOUS_IRQ)
		return !(pic_read_isr(PIC_MASTER_CMD) & (1u << PIC_SPURIOUS_IRQ));
	if (irq == PIC_SPURIOUS_IRQ + 8) {
		if (pic_read_isr(PIC_SLAVE_CMD) & (1u << PIC_SPURIOUS_IRQ))
			return false;
		/* The master did see the cascade IRQ: end that one. */
		outb(OCW2_SPECIFIC_EOI | PIC_CASCADE_IRQ, PIC_MASTER_CMD);
		return true;
	}
	return false;
}
