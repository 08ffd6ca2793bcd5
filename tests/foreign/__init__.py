"""Systems under test nobody on the product wrote: a FHIR R4 server and MLLP peers, with seeded vendor defects."""
