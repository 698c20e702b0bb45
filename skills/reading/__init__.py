"""Reading text from a photo on the glasses: the recogniser behind `reading.read_text`, and reading order."""
