"""The machine with a trusting find_class behaves exactly like pickle."""
