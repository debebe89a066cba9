// Placeholder until this module's issue fills it.
