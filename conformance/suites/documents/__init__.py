"""Document sharing (PDSm / IHE MHD): ITI-65, ITI-67, ITI-68, ITI-66 and the CDA content."""
