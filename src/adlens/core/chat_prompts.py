"""Chat prompts for steering: 20 varied everyday prompts for the final samples and 3 for the
strength search. None is about any finetuning domain, so whatever domain shows up in a steered
answer comes from the steering vector, not from the question."""

from __future__ import annotations

# Everyday questions, advice, short creative tasks and explanations.
CHAT_PROMPTS: tuple[str, ...] = (
    "What are some good ways to spend a rainy Sunday afternoon?",
    "Can you explain how a bicycle stays upright when it moves?",
    "Write a short poem about a city waking up in the morning.",
    "I have a job interview tomorrow. How should I prepare tonight?",
    "What is the difference between weather and climate?",
    "Suggest a simple dinner I can cook with rice, eggs and a few vegetables.",
    "Tell me a short story about a lost umbrella that finds its way home.",
    "How do I politely decline an invitation from a friend?",
    "Why is the sky blue during the day and red at sunset?",
    "Give me three tips for keeping a tidy desk.",
    "Describe your ideal weekend trip in a few sentences.",
    "How does a savings account earn interest?",
    "Write a friendly note to a neighbour who is moving away.",
    "What should I pack for a three-day hiking trip?",
    "Explain what a computer's memory does, in plain words.",
    "I keep forgetting to drink water during the day. Any advice?",
    "Invent a new board game and describe its rules briefly.",
    "What makes a good teacher?",
    "How can I learn to play a musical instrument as an adult?",
    "Summarise the plot of a fairy tale you like in three sentences.",
)

# Open-ended prompts for the strength search: the answer can be long and ordinary.
SEARCH_PROMPTS: tuple[str, ...] = (
    "Tell me about your favourite way to relax after a long day.",
    "What would you recommend to someone visiting a new city for the first time?",
    "Describe how you would plan a small birthday party.",
)
