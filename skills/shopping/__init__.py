"""Shopping: product identification and price comparison, online (Taobao) and from the bundled catalogue."""
