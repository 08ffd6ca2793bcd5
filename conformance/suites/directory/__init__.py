"""Directory (Annuaire Santé): Practitioner by RPPS / idNatPs, PractitionerRole, Organization by FINESS."""
