"""Translation that works on the glasses without the network: the phrasebook, then a labelled word-by-word
gloss (docs/offline-translation.md); Qwen-MT stays the translator whenever it answers."""
