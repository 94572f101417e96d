import PDFDocument from 'pdfkit';
import type { Invoice } from './objects.ts';
import { formatMoney } from './state.ts';

const date = (unix: number) => new Date(unix * 1000).toISOString().slice(0, 10);

/** Renders an invoice as a one-page PDF, as Stripe's `invoice_pdf` link serves. */
export function renderInvoicePdf(invoice: Invoice): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4', margin: 56, info: { Title: `Invoice ${invoice.number ?? invoice.id}` } });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);

    doc.fontSize(22).text('Invoice', { continued: false });
    doc.moveDown(0.5).fontSize(10).fillColor('#555');
    doc.text(`Invoice number: ${invoice.number ?? 'draft'}`);
    doc.text(`Date of issue: ${date(invoice.created)}`);
    doc.text(`Status: ${invoice.status}`);
    doc.text(`Billed to: ${invoice.customer_email ?? invoice.customer}`);
    doc.moveDown().fillColor('#000').fontSize(12);
    for (const line of invoice.lines.data) {
      doc.text(`${line.description}    ${formatMoney(line.amount, line.currency)}`);
      doc
        .fontSize(9)
        .fillColor('#555')
        .text(`${date(line.period.start)} – ${date(line.period.end)}`)
        .fillColor('#000')
        .fontSize(12);
    }
    doc.moveDown();
    doc.fontSize(14).text(`Total: ${formatMoney(invoice.total, invoice.currency)}`);
    doc.fontSize(12).text(`Amount paid: ${formatMoney(invoice.amount_paid, invoice.currency)}`);
    doc.text(`Amount due: ${formatMoney(invoice.amount_remaining, invoice.currency)}`);
    doc.end();
  });
}
