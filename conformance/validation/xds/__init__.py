"""IHE XDS.b as the DMP receives it: ebRIM metadata (`metadata`), the VIHF (`vihf`), the settings the sources
leave open (`rules`), request builders (`build`) and the XDS names (`ebrim`)."""
