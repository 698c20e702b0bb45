"""Running flows: the compiler, the pure step, effects, sessions, clocks and the runner that carries effects out."""
