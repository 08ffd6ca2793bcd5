"""HL7 v2 patient administration (IHE PAM France 2.11): harness as sender and as receiver."""
