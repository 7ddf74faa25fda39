"""Canonical URLs and fixed codings of the FHIR output."""

from __future__ import annotations

CANONICAL = "https://rad-ddx.org/fhir"
EXT_GROUP = f"{CANONICAL}/StructureDefinition/ddx-group"
EXT_RANK = f"{CANONICAL}/StructureDefinition/ddx-rank"
FINDING_PROPERTY = f"{CANONICAL}/CodeSystem/finding-property"
DEVICE_NAME = "rad-ddx"

EXT_RISK = "http://hl7.org/fhir/StructureDefinition/diagnosticReport-risk"
EXT_SUPPORTING_INFO = "http://hl7.org/fhir/StructureDefinition/workflow-supportingInfo"
EXT_DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

CAT_RAD = {"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD", "display": "Radiology"}
CAT_LOINC_RAD = {"system": "http://loinc.org", "code": "LP29684-5", "display": "Radiology"}
LOINC_IMAGING_STUDY = {"system": "http://loinc.org", "code": "18748-4", "display": "Diagnostic imaging study"}
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
OBS_IMAGING = {"system": OBS_CATEGORY, "code": "imaging", "display": "Imaging"}
OBS_EXAM = {"system": OBS_CATEGORY, "code": "exam", "display": "Exam"}
AIAST = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "AIAST",
         "display": "Artificial Intelligence asserted"}
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
VER_DIFFERENTIAL = {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "differential",
                    "display": "Differential"}
COND_ENCOUNTER_DX = {"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis",
                     "display": "Encounter Diagnosis"}
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
NEGATIVE = {"system": INTERPRETATION, "code": "NEG", "display": "Negative"}
INTERPRETATION_DISPLAY = {"H": "High", "HH": "Critical high", "L": "Low", "LL": "Critical low", "N": "Normal", "A": "Abnormal"}
UCUM = "http://unitsofmeasure.org"

# RadLex qualifiers: RID with label seen in openimagingdata/findingmodels @ 4475ac1 (defs/*.fm.json).
RADLEX = "http://radlex.org"
PRESENT = {"system": RADLEX, "code": "RID28472", "display": "present"}
ABSENT = {"system": RADLEX, "code": "RID28473", "display": "absent"}
CHANGE_RADLEX = {
    "new": {"system": RADLEX, "code": "RID5720", "display": "new"},
    "stable": {"system": RADLEX, "code": "RID5734", "display": "stable"},
    "increased": {"system": RADLEX, "code": "RID36043", "display": "increased"},
    "decreased": {"system": RADLEX, "code": "RID36044", "display": "decreased"},
}

# The project's own finding properties (no verified standard code for these axes).
PROPERTIES = {
    "laterality": "Laterality",
    "size": "Largest dimension",
    "count": "Number of lesions",
    "change": "Change since prior study",
    "change-interval": "Interval since prior study",
    "onset-before-study": "Onset before the study",
    "left": "Left", "right": "Right", "bilateral": "Bilateral", "midline": "Midline",
    "resolved": "Resolved", "matured": "Matured",
}

# The event of the `message` shape: the project's own (R4's message-event code system is only an example binding).
MESSAGE_EVENT = f"{CANONICAL}/message-event/differential-diagnosis"

# FHIR input (mappings/fhir/fhir-input-profile.md): what carries what in a collection Bundle of Observations.
RADLEX_OLD = "http://www.radlex.org"  # the older RadLex system URL, accepted on input
EXT_ONSET_BEFORE_STUDY = f"{CANONICAL}/StructureDefinition/onset-before-study"
LOINC_AGE = {"system": "http://loinc.org", "code": "30525-0", "display": "Age"}  # HL7 THO v3-LOINCObservationActContextAgeDefinitionCode
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
VER_CONFIRMED = {"system": CONDITION_VER_STATUS, "code": "confirmed", "display": "Confirmed"}
VER_REFUTED = {"system": CONDITION_VER_STATUS, "code": "refuted", "display": "Refuted"}

# R5 (Accept: application/fhir+json; fhirVersion=5.0): what changed from R4, with the codes the spec defines.
# R5 Condition.clinicalStatus is required: `active` (R5 definition: "... there is evidence of the condition or situation,
# or considered to be a significant risk"): a suggestion under consideration, its uncertainty carried by
# verificationStatus `differential`. http://hl7.org/fhir/R5/valueset-condition-clinical.html
CLINICAL_ACTIVE = {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active", "display": "Active"}
# R5 Device.name.type (required binding, no manufacturer-name): http://hl7.org/fhir/R5/codesystem-device-nametype.html
DEVICE_NAME_TYPE_R5 = "user-friendly-name"
# R5 MessageHeader has no eventUri: the same event as a coding of the project's own code system.
MESSAGE_EVENT_SYSTEM = f"{CANONICAL}/CodeSystem/message-event"
MESSAGE_EVENT_CODE = {"system": MESSAGE_EVENT_SYSTEM, "code": "differential-diagnosis", "display": "Differential diagnosis"}
