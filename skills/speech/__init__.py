"""Speech recognition online: DashScope realtime ASR."""
