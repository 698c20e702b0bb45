"""The assistant: who an utterance is for, offline and model routing, and the LangGraph turn loop."""
