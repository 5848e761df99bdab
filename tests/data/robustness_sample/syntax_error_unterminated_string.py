message = "never closed
