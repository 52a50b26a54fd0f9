"""chatlens.llm."""
