"""Audio on the embedded default: espeak-ng speaks, pocketsphinx listens (English, its bundled model)."""
