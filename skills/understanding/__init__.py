"""Understanding what the wearer says: the product's offline router and its semantic index.

`offline_router(flows)` is the one place the default offline router is built (the
trigger matcher, then meaning through the bundled multilingual-e5-small); every front
door that routes without a model gets it from here, and `understanding_router` adds
Qwen in front when a chat model is configured.
"""

from skills.understanding.router import MARGIN, THRESHOLD, offline_router, understanding_router

__all__ = ["MARGIN", "THRESHOLD", "offline_router", "understanding_router"]
