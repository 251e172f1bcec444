"""Game environments. Each game lives in its own module and imports its emulator lazily."""
