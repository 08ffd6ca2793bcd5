"""Patient identity (INS): search by INS and traits, FR Core profiles, INS only for qualified identities."""
