"""The SSH key vault (issue 21 §2): private keys saved encrypted, used by the wizard, never shown again."""
