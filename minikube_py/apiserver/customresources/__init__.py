"""Custom resources: what CustomResourceDefinitions define, served."""
