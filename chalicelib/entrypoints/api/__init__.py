"""HTTP entrypoints: blueprints per area. They translate requests to use cases and back."""
