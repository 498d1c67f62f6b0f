"""The five programs of the business, each its own service with its own database."""
