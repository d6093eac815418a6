"""Printing: QR and barcode images, card PDFs (DESIGN §5)."""
