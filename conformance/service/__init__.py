"""The validation service: engines kept warm in one process, reached over HTTP on loopback.

    server.ValidationService(limits=ServiceLimits(), warm=True).start() -> base URL
    conformance.validation.remote.validate_remote(url, data, name=..., options=...) -> list[Outcome]

`POST /validate` takes any input `conformance validate` takes (kind detected from the bytes, options as query
parameters) and answers what `conformance validate --format json` prints; `POST /$validate` and
`POST /{type}/$validate` are the FHIR operation (a resource or a Parameters with `resource` / `profile`).
"""
