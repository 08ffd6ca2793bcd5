"""Documents over HL7 v2 (CI-SIS: MDM^T02 / ORU^R01), when [hl7v2] documents = true."""
