"""FHIR server basics: CapabilityStatement, formats, errors, read/vread/ETag, search and paging."""
