"""A/B experiments: one configuration name split between two configurations, per end user."""
