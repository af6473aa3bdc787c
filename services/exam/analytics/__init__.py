"""The org dashboard: attempts, θ by class and exam, classical item statistics."""
