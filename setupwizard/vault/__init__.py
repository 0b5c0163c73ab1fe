"""The SSH key vault: private keys saved encrypted, used by the wizard, never shown again."""
