dummy APNs .p8 key for config tests (only its existence is checked)
