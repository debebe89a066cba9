// Filled by its module's issue.
print("not implemented yet")
