"""IHE XDS.b names: namespaces, ebRIM classification and identification schemes, the DMP's action spellings,
availability statuses and the standard XDS error codes. One home for these strings, and for reading
slots and external identifiers off ebRIM objects."""

from __future__ import annotations

from lxml import etree

from conformance.validation.cda.xdm import CLASSIFICATIONS, DOCUMENT_ENTRY, PATIENT_ID, SUBMISSION_SET, UNIQUE_ID

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
RMD = "urn:ihe:iti:rmd:2017"
NS = {"rim": RIM, "lcm": LCM, "query": QUERY, "rs": RS, "xdsb": XDSB}

# ITI-41/18/43/57 request actions and the DMP's response actions (ITI-57's response keeps the DMP hyphen)
ITI41 = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
ITI18 = "urn:ihe:iti:2007:RegistryStoredQuery"
ITI43 = "urn:ihe:iti:2007:RetrieveDocumentSet"
ITI57 = "urn:ihe:iti:2010:UpdateDocumentSet"
RESPONSE_ACTIONS = {
    ITI41: "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse",
    ITI18: "urn:ihe:iti:2007:RegistryStoredQueryResponse",
    ITI43: "urn:ihe:iti:2007:RetrieveDocumentSetResponse",
    ITI57: "urn:ihe:iti:2010:UpdateDocumentSet-Response",
}
ITI57_RESPONSE_IHE = "urn:ihe:iti:2010:UpdateDocumentSetResponse"
TRANSACTIONS = {ITI41: "ITI-41", ITI18: "ITI-18", ITI43: "ITI-43", ITI57: "ITI-57"}

SUBMISSION_SET_NODES = (
    SUBMISSION_SET,  # IHE ITI TF-3 4.2.5.1 (the XDM validator's)
    "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd",  # as listed by the DRIMbox's XDSUUID (DMP facts sheet)
)
DOCUMENT_ENTRY_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
SUBMISSION_SET_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
CONTENT_TYPE_CODE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
EVENT_CODE = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
UPDATE_AVAILABILITY = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
PARTIAL = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEVERITY_WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"

# standard XDS error codes (IHE ITI TF-3 4.2.4.1)
XDS_ERRORS = frozenset(
    {
        "XDSMissingDocument",
        "XDSMissingDocumentMetadata",
        "XDSRegistryNotAvailable",
        "XDSRegistryError",
        "XDSRepositoryError",
        "XDSRegistryDuplicateUniqueIdInMessage",
        "XDSRepositoryDuplicateUniqueIdInMessage",
        "XDSDuplicateUniqueIdInRegistry",
        "XDSNonIdenticalHash",
        "XDSNonIdenticalSize",
        "XDSRegistryBusy",
        "XDSRepositoryBusy",
        "XDSRegistryOutOfResources",
        "XDSRepositoryOutOfResources",
        "XDSRegistryMetadataError",
        "XDSRepositoryMetadataError",
        "XDSTooManyResults",
        "XDSExtraMetadataNotSaved",
        "XDSUnknownPatientId",
        "XDSPatientIdDoesNotMatch",
        "XDSUnknownStoredQuery",
        "XDSStoredQueryMissingParam",
        "XDSStoredQueryParamNumber",
        "XDSRegistryDeprecatedDocumentError",
        "XDSUnknownRepositoryId",
        "XDSDocumentUniqueIdError",
        "XDSPartialSuccess",
        "XDSMetadataVersionError",
        "XDSMetadataUpdateOperationError",
        "XDSMetadataUpdateError",
        "XDSMissingHomeCommunityId",
    }
)

__all__ = [
    "CLASSIFICATIONS",
    "DOCUMENT_ENTRY",
    "PATIENT_ID",
    "SUBMISSION_SET",
    "UNIQUE_ID",
]


# ---------------------------------------------------------------- reading ebRIM objects


def slot_values(element: etree._Element, name: str) -> list[str]:
    return [v.text or "" for v in element.findall(f"rim:Slot[@name='{name}']/rim:ValueList/rim:Value", NS)]


def first_slot(element: etree._Element, name: str) -> str:
    return (slot_values(element, name) or [""])[0].strip()


def external(element: etree._Element, scheme: str) -> str:
    """The value of the element's ExternalIdentifier of that scheme ("" when absent)."""
    found = element.find(f"rim:ExternalIdentifier[@identificationScheme='{scheme}']", NS)
    return found.get("value", "").strip() if found is not None else ""
