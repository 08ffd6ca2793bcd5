"""Validators: FHIR (fhir/), HL7 v2 (hl7v2/), CDA and XDM (cda/). `detect` picks one for raw input."""
